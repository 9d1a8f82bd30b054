//! The physical operators behind the DataStream API.
//!
//! Each operator implements [`Operator`] (or [`CoOperator`] for two inputs): what to
//! do with a record given the downstream element. [`Node`] and [`CoNode`] wrap an
//! operator with its downstream element and implement the runtime's chain traits,
//! forwarding control calls in the right order.

mod basic;
mod co;
mod keyed;
mod process;

pub(crate) use basic::{Filter, FlatMap, Map};
pub(crate) use co::{CoFlatMap, CoMap, CoProcess};
pub(crate) use keyed::{KeyedProcess, KeyedReduce};
pub(crate) use process::Process;

use std::marker::PhantomData;
use weir_core::{StreamRecord, Watermark};
use weir_runtime::operator::{ChainElement, Input, TwoInput};

/// A one-input operator, independent of what follows it in the chain.
pub(crate) trait Operator<I, O>: Send {
    /// Prepares the operator (user `open`).
    fn open(&mut self) {}
    /// Processes one record.
    fn process(&mut self, record: StreamRecord<I>, out: &mut dyn Input<O>);
    /// Reacts to a watermark; by default forwards it.
    fn watermark(&mut self, watermark: Watermark, out: &mut dyn Input<O>) {
        out.process_watermark(watermark);
    }
    /// Emits what is still held when the input ends.
    fn end_input(&mut self, _out: &mut dyn Input<O>) {}
}

/// An [`Operator`] with its downstream chain.
pub(crate) struct Node<Op, I, O> {
    op: Op,
    out: Box<dyn Input<O>>,
    _input: PhantomData<fn(I)>,
}

impl<Op, I, O> Node<Op, I, O> {
    pub(crate) fn boxed(op: Op, out: Box<dyn Input<O>>) -> Box<Self> {
        Box::new(Node {
            op,
            out,
            _input: PhantomData,
        })
    }
}

impl<Op: Operator<I, O>, I, O> ChainElement for Node<Op, I, O> {
    fn open(&mut self) {
        self.out.open();
        self.op.open();
    }
    fn process_watermark(&mut self, watermark: Watermark) {
        self.op.watermark(watermark, &mut *self.out);
    }
    fn flush(&mut self) {
        self.out.flush();
    }
    fn end_input(&mut self) {
        self.op.end_input(&mut *self.out);
        self.out.end_input();
    }
}

impl<Op: Operator<I, O>, I, O> Input<I> for Node<Op, I, O> {
    #[inline]
    fn process(&mut self, record: StreamRecord<I>) {
        self.op.process(record, &mut *self.out);
    }
}

/// A two-input operator, independent of what follows it in the chain.
pub(crate) trait CoOperator<A, B, O>: Send {
    /// Prepares the operator (user `open`).
    fn open(&mut self) {}
    /// Processes a record of the first input.
    fn process1(&mut self, record: StreamRecord<A>, out: &mut dyn Input<O>);
    /// Processes a record of the second input.
    fn process2(&mut self, record: StreamRecord<B>, out: &mut dyn Input<O>);
    /// Emits what is still held when both inputs end.
    fn end_input(&mut self, _out: &mut dyn Input<O>) {}
}

/// A [`CoOperator`] with its downstream chain.
pub(crate) struct CoNode<Op, A, B, O> {
    op: Op,
    out: Box<dyn Input<O>>,
    _inputs: PhantomData<fn(A, B)>,
}

impl<Op, A, B, O> CoNode<Op, A, B, O> {
    pub(crate) fn boxed(op: Op, out: Box<dyn Input<O>>) -> Box<Self> {
        Box::new(CoNode {
            op,
            out,
            _inputs: PhantomData,
        })
    }
}

impl<Op: CoOperator<A, B, O>, A, B, O> ChainElement for CoNode<Op, A, B, O> {
    fn open(&mut self) {
        self.out.open();
        self.op.open();
    }
    fn process_watermark(&mut self, watermark: Watermark) {
        self.out.process_watermark(watermark);
    }
    fn flush(&mut self) {
        self.out.flush();
    }
    fn end_input(&mut self) {
        self.op.end_input(&mut *self.out);
        self.out.end_input();
    }
}

impl<Op: CoOperator<A, B, O>, A, B, O> TwoInput<A, B> for CoNode<Op, A, B, O> {
    #[inline]
    fn process1(&mut self, record: StreamRecord<A>) {
        self.op.process1(record, &mut *self.out);
    }
    #[inline]
    fn process2(&mut self, record: StreamRecord<B>) {
        self.op.process2(record, &mut *self.out);
    }
}
