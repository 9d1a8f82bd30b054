//! Chaining changes how operators are packed into tasks, never the results.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeMap;
use weir::prelude::*;

/// Runs a job with a fan-out, a shuffle, a rolling sum and a union; returns the
/// final sum per key (intermediate sums depend on arrival order, final ones do not),
/// the sorted stateless output, and the number of vertices.
fn job(chaining: bool) -> (BTreeMap<String, i64>, Vec<(String, i64)>, usize) {
    common::no_hang("chaining job", move || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(3).set_buffer_size(32);
        if !chaining {
            env.disable_operator_chaining();
        }
        let numbers = env.from_sequence(1, 20_000);
        let words = numbers
            .map(|n| n * 7 % 1_000)
            .filter(|n| n % 3 != 0)
            .flat_map(|n| vec![(format!("k{}", n % 17), n), (format!("k{}", n % 5), 1)]);
        let sums = words
            .key_by(|(k, _)| k.clone())
            .sum(|(_, n)| n)
            .map(|(k, n)| (format!("sum-{k}"), n * 2));
        let tagged = numbers.map(|n| (format!("n{}", n % 3), n));
        let out = sums.union(&tagged).collect();
        let result = env.execute("chaining").unwrap();
        let mut finals = BTreeMap::new();
        let mut stateless = Vec::new();
        for (k, n) in out.take() {
            if k.starts_with("sum-") {
                let e = finals.entry(k).or_insert(0);
                *e = n.max(*e);
            } else {
                stateless.push((k, n));
            }
        }
        stateless.sort();
        (finals, stateless, result.vertices.len())
    })
}

#[test]
fn chaining_does_not_change_results() {
    let (chained_sums, chained, chained_vertices) = job(true);
    let (unchained_sums, unchained, unchained_vertices) = job(false);
    assert_eq!(chained.len(), 20_000);
    assert_eq!(chained_sums.len(), 17, "k0..k16 (k0..k4 are shared by both keyings)");
    assert_eq!(chained_sums, unchained_sums);
    assert_eq!(chained, unchained);
    assert!(
        chained_vertices < unchained_vertices,
        "chaining should merge operators ({chained_vertices} vs {unchained_vertices} tasks per subtask)"
    );
}

#[test]
fn plan_shows_chains() {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2);
    env.from_sequence(1, 10)
        .name("numbers")
        .map(|n| n + 1)
        .name("inc")
        .rebalance()
        .filter(|n| n % 2 == 0)
        .name("even")
        .discard();
    let plan = env.explain("plan").unwrap();
    assert!(plan.contains("numbers -> inc"), "{plan}");
    assert!(plan.contains("even -> discard"), "{plan}");
    assert!(plan.contains("rebalance"), "{plan}");
}

#[test]
fn start_new_chain_and_disable_chaining_split_tasks() {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(1);
    env.from_sequence(1, 10)
        .name("numbers")
        .map(|n| n + 1)
        .name("a")
        .map(|n| n + 1)
        .name("b")
        .start_new_chain()
        .map(|n| n + 1)
        .name("c")
        .map(|n| n + 1)
        .name("d")
        .disable_chaining()
        .discard();
    let plan = env.explain("plan").unwrap();
    assert!(
        plan.contains("numbers -> a\n") || plan.contains("numbers -> a ("),
        "{plan}"
    );
    assert!(plan.contains("b -> c ("), "{plan}");
    assert!(plan.contains("] d ("), "{plan}");
}

#[test]
fn execution_graph_expands_edges_to_channels() {
    use weir::runtime::graph::ExecutionGraph;
    use weir::runtime::JobGraph;
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(3);
    env.from_sequence(1, 10)
        .map(|n| n)
        .disable_chaining()
        .key_by(|n| *n)
        .reduce(|a, b| a + b)
        .set_parallelism(2)
        .discard();
    let job = JobGraph::from_stream_graph(env.stream_graph("plan").unwrap()).unwrap();
    let execution = ExecutionGraph::from_job_graph(&job);
    // source(3) -forward-> map(3): 3 channels; map(3) -hash-> reduce(2): 6;
    // reduce(2) -rebalance-> discard(3): 6.
    assert_eq!(execution.subtasks, vec![3, 3, 2, 3]);
    assert_eq!(execution.channels.len(), 3 + 6 + 6);
    assert!(execution.channels[..3]
        .iter()
        .all(|c| c.source.subtask == c.target.subtask));
    assert_eq!(execution.to_string(), "11 subtasks in 4 vertices, 15 channels");
}
