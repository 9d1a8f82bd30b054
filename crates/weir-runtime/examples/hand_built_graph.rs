//! Building a job graph by hand, the way every front end (DataStream, SQL, the
//! topology API) does: nodes with operator factories, edges with partitioners.
//!
//! `cargo run -p weir-runtime --example hand_built_graph`
//!
//! The job: a source of numbers -> (hash by n % 4) -> an operator that doubles each
//! number and prints it.

use std::sync::Arc;
use weir_core::{BoxError, ExecutionConfig, StreamRecord, Watermark};
use weir_runtime::erased::stream_type;
use weir_runtime::factory::{one_input_factory, source_factory};
use weir_runtime::graph::{ChainingStrategy, OperatorFactory, Partitioning, StreamEdge, StreamGraph, StreamNode};
use weir_runtime::operator::{ChainElement, Input};
use weir_runtime::partitioner;
use weir_runtime::source::{Boundedness, PollStatus, ReaderContext, Source, SourceOutput, SourceReader};
use weir_runtime::JobGraph;

struct Numbers;
struct NumbersReader(u64, u64);

impl SourceReader<u64> for NumbersReader {
    fn poll_next(&mut self, out: &mut SourceOutput<'_, u64>) -> Result<PollStatus, BoxError> {
        if self.0 >= 10 {
            return Ok(PollStatus::Finished);
        }
        out.collect(self.0);
        self.0 += self.1;
        Ok(PollStatus::MoreAvailable)
    }
}

impl Source<u64> for Numbers {
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
    fn create_reader(&self, ctx: &ReaderContext) -> Result<Box<dyn SourceReader<u64>>, BoxError> {
        Ok(Box::new(NumbersReader(
            ctx.info.index as u64,
            ctx.info.parallelism as u64,
        )))
    }
}

/// A chain element written directly against the runtime traits.
struct DoubleAndPrint {
    subtask: usize,
}

impl ChainElement for DoubleAndPrint {
    fn open(&mut self) {}
    fn process_watermark(&mut self, _: Watermark) {}
    fn flush(&mut self) {}
    fn end_input(&mut self) {}
}

impl Input<u64> for DoubleAndPrint {
    fn process(&mut self, record: StreamRecord<u64>) {
        println!("subtask {}: {} -> {}", self.subtask, record.value, record.value * 2);
    }
}

fn main() -> Result<(), weir_core::WeirError> {
    let mut graph = StreamGraph::new(
        "hand built",
        ExecutionConfig {
            default_parallelism: 2,
            ..ExecutionConfig::default()
        },
    );
    let node = |name: &str, operator, output_type| StreamNode {
        id: 0,
        name: name.to_string(),
        uid: None,
        parallelism: None,
        max_parallelism: None,
        operator,
        output_type,
        chaining: ChainingStrategy::Always,
        side_outputs: Vec::new(),
    };
    let source = graph.add_node(node(
        "numbers",
        OperatorFactory::Source(source_factory::<u64>(Arc::new(Numbers))),
        stream_type::<u64>(),
    ));
    let printer = graph.add_node(node(
        "double and print",
        OperatorFactory::OneInput(one_input_factory::<u64, (), _>(|ctx, _out| {
            Ok(Box::new(DoubleAndPrint {
                subtask: ctx.info.index,
            }))
        })),
        stream_type::<()>(),
    ));
    graph.add_edge(StreamEdge {
        source,
        target: printer,
        target_input: 0,
        partitioning: Partitioning::Given(partitioner::hash::<u64, u64, _>(|n: &u64| n % 4)),
        side_output: None,
    });
    let job = JobGraph::from_stream_graph(graph)?;
    print!("{job}");
    let result = weir_runtime::execute(job)?.wait()?;
    println!("finished in {:?}", result.elapsed);
    Ok(())
}
