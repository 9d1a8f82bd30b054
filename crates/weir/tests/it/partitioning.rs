//! Every record arrives exactly once (once per subtask for broadcast) for every
//! partitioning, at every combination of parallelism 1 to 4, and lands where the
//! partitioning says.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::HashMap;
use weir::core::keygroup::subtask_for_key;
use weir::prelude::*;

const N: i64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Forward,
    Rebalance,
    Shuffle,
    Hash,
    Broadcast,
    Global,
    Custom,
}

/// Runs source(p = sources) -> partitioning -> tag(p = targets) and returns
/// (source subtask, target subtask, value) for every arrival.
fn run(kind: Kind, sources: usize, targets: usize) -> Vec<(usize, usize, i64)> {
    common::no_hang("partitioning job", move || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(sources).set_buffer_size(64);
        let tagged = env
            .from_sequence(0, N - 1)
            .process_fn(|v: i64, ctx, out: &mut Collector<'_, (usize, i64)>| {
                out.collect((ctx.subtask_index(), v));
                Ok(())
            });
        let partitioned = match kind {
            Kind::Forward => tagged.forward(),
            Kind::Rebalance => tagged.rebalance(),
            Kind::Shuffle => tagged.shuffle(),
            Kind::Hash => (*tagged.key_by(|(_, v)| *v)).clone(),
            Kind::Broadcast => tagged.broadcast(),
            Kind::Global => tagged.global(),
            Kind::Custom => tagged.partition_custom(|v: &i64, n| (*v as usize) % n, |(_, v)| *v),
        };
        let arrivals = partitioned
            .process_fn(
                |(s, v): (usize, i64), ctx, out: &mut Collector<'_, (usize, usize, i64)>| {
                    out.collect((s, ctx.subtask_index(), v));
                    Ok(())
                },
            )
            .set_parallelism(targets)
            .collect();
        env.execute(&format!("{kind:?} {sources}->{targets}")).unwrap();
        arrivals.take()
    })
}

fn check(kind: Kind, sources: usize, targets: usize) {
    let arrivals = run(kind, sources, targets);
    let mut per_value: HashMap<i64, Vec<usize>> = HashMap::new();
    for &(source, target, value) in &arrivals {
        assert!(target < targets, "{kind:?}: target subtask {target} out of range");
        match kind {
            Kind::Forward => assert_eq!(source, target, "forward must keep the subtask"),
            Kind::Global => assert_eq!(target, 0, "global sends everything to subtask 0"),
            Kind::Hash => assert_eq!(target, subtask_for_key(&value, 128, targets)),
            Kind::Custom => assert_eq!(target, value as usize % targets),
            _ => {}
        }
        per_value.entry(value).or_default().push(target);
    }
    assert_eq!(
        per_value.len() as i64,
        N,
        "{kind:?} {sources}->{targets}: some values never arrived"
    );
    for (value, mut seen) in per_value {
        seen.sort_unstable();
        if kind == Kind::Broadcast {
            assert_eq!(
                seen,
                (0..targets).collect::<Vec<_>>(),
                "value {value} not once per subtask"
            );
        } else {
            assert_eq!(
                seen.len(),
                1,
                "{kind:?} {sources}->{targets}: value {value} arrived {} times",
                seen.len()
            );
        }
    }
    if kind == Kind::Rebalance {
        let mut per_target = vec![0i64; targets];
        for &(_, t, _) in &arrivals {
            per_target[t] += 1;
        }
        let (min, max) = (per_target.iter().min().unwrap(), per_target.iter().max().unwrap());
        assert!(max - min <= sources as i64, "rebalance is uneven: {per_target:?}");
    }
    if kind == Kind::Shuffle {
        let mut per_target = vec![0i64; targets];
        for &(_, t, _) in &arrivals {
            per_target[t] += 1;
        }
        assert!(
            per_target.iter().all(|&c| c > 0),
            "shuffle starved a subtask: {per_target:?}"
        );
    }
}

fn check_all_parallelisms(kind: Kind) {
    for sources in 1..=4 {
        for targets in 1..=4 {
            if kind == Kind::Forward && sources != targets {
                continue;
            }
            check(kind, sources, targets);
        }
    }
}

#[test]
fn forward_delivers_each_record_once_to_the_same_subtask() {
    check_all_parallelisms(Kind::Forward);
}

#[test]
fn rebalance_delivers_each_record_once_evenly() {
    check_all_parallelisms(Kind::Rebalance);
}

#[test]
fn shuffle_delivers_each_record_once() {
    check_all_parallelisms(Kind::Shuffle);
}

#[test]
fn hash_delivers_each_record_once_to_its_key_group_owner() {
    check_all_parallelisms(Kind::Hash);
}

#[test]
fn broadcast_delivers_each_record_once_per_subtask() {
    check_all_parallelisms(Kind::Broadcast);
}

#[test]
fn global_delivers_each_record_once_to_subtask_zero() {
    check_all_parallelisms(Kind::Global);
}

#[test]
fn custom_delivers_each_record_once_where_the_function_says() {
    check_all_parallelisms(Kind::Custom);
}

#[test]
fn shuffle_is_repeatable_with_a_seed() {
    let a = run(Kind::Shuffle, 1, 3);
    let b = run(Kind::Shuffle, 1, 3);
    let sorted = |mut v: Vec<(usize, usize, i64)>| {
        v.sort_unstable();
        v
    };
    assert_eq!(sorted(a), sorted(b));
}
