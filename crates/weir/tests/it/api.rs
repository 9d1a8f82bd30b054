//! The DataStream API end to end: transformations, rolling aggregations, union,
//! connect, keyed state, files, and clear errors for bad jobs.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;
use weir::prelude::*;

fn env(parallelism: usize) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism);
    env
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

#[test]
fn map_filter_flat_map_keep_order_at_parallelism_one() {
    let env = env(1);
    let out = env
        .from_collection(vec![1, 2, 3, 4, 5])
        .map(|n| n * 10)
        .filter(|n| *n != 30)
        .flat_map(|n| vec![n, n + 1])
        .collect();
    env.execute("basic").unwrap();
    assert_eq!(out.take(), vec![10, 11, 20, 21, 40, 41, 50, 51]);
}

#[test]
fn stateful_closures_are_cloned_per_subtask() {
    let env = env(3);
    let mut seen = 0u64;
    let out = env
        .from_sequence(1, 3_000)
        .map(move |_| {
            seen += 1;
            seen
        })
        .collect();
    env.execute("per subtask state").unwrap();
    let counts = out.take();
    assert_eq!(counts.len(), 3_000);
    // Each subtask counts its own 1000 records.
    assert_eq!(counts.iter().max(), Some(&1_000));
}

#[test]
fn rolling_aggregations_follow_flink_semantics() {
    let input = vec![("a", 3, 1), ("b", 5, 2), ("a", 1, 3), ("a", 4, 4), ("b", 9, 5)];
    let input: Vec<(String, i32, i32)> = input.into_iter().map(|(k, v, t)| (k.to_string(), v, t)).collect();
    let env = env(1);
    let source = env.from_collection(input);
    let keyed = source.key_by(|t| t.0.clone());
    let sum = keyed.sum(|t| &mut t.1).collect();
    let min = keyed.min(|t| &mut t.1).collect();
    let max = keyed.max(|t| &mut t.1).collect();
    let min_by = keyed.min_by(|t| t.1).collect();
    let max_by = keyed.max_by(|t| t.1).collect();
    let reduce = keyed.reduce(|a, b| (a.0, a.1 * b.1, b.2)).collect();
    env.execute("aggregations").unwrap();
    let a = |v: i32, t: i32| ("a".to_string(), v, t);
    let b = |v: i32, t: i32| ("b".to_string(), v, t);
    // sum/min/max: the key's first record with the field aggregated.
    assert_eq!(sum.take(), vec![a(3, 1), b(5, 2), a(4, 1), a(8, 1), b(14, 2)]);
    assert_eq!(min.take(), vec![a(3, 1), b(5, 2), a(1, 1), a(1, 1), b(5, 2)]);
    assert_eq!(max.take(), vec![a(3, 1), b(5, 2), a(3, 1), a(4, 1), b(9, 2)]);
    // min_by/max_by: the whole record holding the extreme value.
    assert_eq!(min_by.take(), vec![a(3, 1), b(5, 2), a(1, 3), a(1, 3), b(5, 2)]);
    assert_eq!(max_by.take(), vec![a(3, 1), b(5, 2), a(3, 1), a(4, 4), b(9, 5)]);
    assert_eq!(reduce.take(), vec![a(3, 1), b(5, 2), a(3, 3), a(12, 4), b(45, 5)]);
}

#[test]
fn keyed_sum_final_values_match_a_batch_computation() {
    let env = env(4);
    let out = env
        .from_sequence(0, 99_999)
        .map(|n| (n % 97, n))
        .key_by(|t| t.0)
        .sum(|t| &mut t.1)
        .collect();
    env.execute("sums").unwrap();
    let mut finals = BTreeMap::new();
    for (k, s) in out.take() {
        let e = finals.entry(k).or_insert(0);
        *e = s.max(*e);
    }
    let mut expected = BTreeMap::new();
    for n in 0..100_000i64 {
        *expected.entry(n % 97).or_insert(0) += n;
    }
    assert_eq!(finals, expected);
}

#[test]
fn keyed_process_keeps_state_per_key() {
    #[derive(Clone)]
    struct Counter {
        count: ValueStateDescriptor<u64>,
    }
    impl KeyedProcessFunction<u8, u64, (u8, u64)> for Counter {
        fn process_element(
            &mut self,
            _: u64,
            ctx: &mut KeyedContext<'_, u8>,
            out: &mut Collector<'_, (u8, u64)>,
        ) -> Result<(), BoxError> {
            let mut state = ctx.value(&self.count)?;
            let n = state.get()?.unwrap_or(0) + 1;
            if n == 100 {
                state.clear()?;
                out.collect((*ctx.current_key(), n));
            } else {
                state.set(n)?;
            }
            Ok(())
        }
    }
    let env = env(3);
    let out = env
        .add_source(GeneratorSource::new(|i| i).with_count(10_000))
        .key_by(|i| (i % 10) as u8)
        .process(Counter {
            count: ValueStateDescriptor::new("count"),
        })
        .collect();
    env.execute("keyed process").unwrap();
    let emitted = out.take();
    // 1000 records per key: ten full rounds of 100 each.
    assert_eq!(emitted.len(), 100);
    assert!(emitted.iter().all(|(_, n)| *n == 100));
}

#[test]
fn process_function_finish_emits_at_end_of_input() {
    #[derive(Clone, Default)]
    struct Total(i64);
    impl ProcessFunction<i64, i64> for Total {
        fn process_element(&mut self, v: i64, _: &mut Context<'_>, _: &mut Collector<'_, i64>) -> Result<(), BoxError> {
            self.0 += v;
            Ok(())
        }
        fn finish(&mut self, out: &mut Collector<'_, i64>) -> Result<(), BoxError> {
            out.collect(self.0);
            Ok(())
        }
    }
    let env = env(2);
    let out = env.from_sequence(1, 100).process(Total::default()).collect();
    env.execute("finish").unwrap();
    assert_eq!(out.take().iter().sum::<i64>(), 5_050);
}

#[test]
fn union_merges_streams() {
    let env = env(2);
    let a = env.from_collection(vec![1, 2, 3]);
    let b = env.from_collection(vec![10, 20]);
    let c = env.from_sequence(100, 101);
    let out = a.union(&b).union(&c).map(|n| n + 1).collect();
    env.execute("union").unwrap();
    assert_eq!(sorted(out.take()), vec![2, 3, 4, 11, 21, 101, 102]);
}

#[test]
fn one_stream_feeds_several_operators() {
    let env = env(2);
    let numbers = env.from_sequence(1, 10);
    let doubled = numbers.map(|n| n * 2).collect();
    let odd = numbers.filter(|n| n % 2 == 1).collect();
    env.execute("fan out").unwrap();
    assert_eq!(sorted(doubled.take()), (1..=10).map(|n| n * 2).collect::<Vec<_>>());
    assert_eq!(sorted(odd.take()), vec![1, 3, 5, 7, 9]);
}

#[test]
fn connect_co_map_and_co_flat_map() {
    let env = env(2);
    let numbers = env.from_collection(vec![1i64, 2, 3]);
    let words = env.from_collection(vec!["x".to_string(), "yy".to_string()]);
    let connected = numbers.connect(&words);
    let mapped = connected
        .map(|n| format!("n{n}"), |w: String| format!("w{}", w.len()))
        .collect();
    let flat = connected
        .flat_map(|n| vec![n; n as usize], |w: String| vec![w.len() as i64 * 100])
        .collect();
    env.execute("connect").unwrap();
    assert_eq!(sorted(mapped.take()), vec!["n1", "n2", "n3", "w1", "w2"]);
    assert_eq!(sorted(flat.take()), vec![1, 2, 2, 3, 3, 3, 100, 200]);
}

#[test]
fn co_process_sees_both_inputs_and_finishes() {
    #[derive(Clone, Default)]
    struct Tally {
        left: usize,
        right: usize,
    }
    impl CoProcessFunction<i64, String, String> for Tally {
        fn process_element1(
            &mut self,
            _: i64,
            _: &mut Context<'_>,
            _: &mut Collector<'_, String>,
        ) -> Result<(), BoxError> {
            self.left += 1;
            Ok(())
        }
        fn process_element2(
            &mut self,
            v: String,
            _: &mut Context<'_>,
            out: &mut Collector<'_, String>,
        ) -> Result<(), BoxError> {
            self.right += 1;
            out.collect(v);
            Ok(())
        }
        fn finish(&mut self, out: &mut Collector<'_, String>) -> Result<(), BoxError> {
            out.collect(format!("{}/{}", self.left, self.right));
            Ok(())
        }
    }
    let env = env(1);
    let out = env
        .from_sequence(1, 1_000)
        .connect(&env.from_collection(vec!["a".to_string(), "b".to_string()]))
        .process(Tally::default())
        .collect();
    env.execute("co process").unwrap();
    assert_eq!(sorted(out.take()), vec!["1000/2", "a", "b"]);
}

#[test]
fn connected_key_by_brings_equal_keys_together() {
    let env = env(3);
    let left = env.from_sequence(0, 299).map(|n| (n % 30, 'L'));
    let right = env.from_sequence(0, 29).map(|n| (n, 'R'));
    let out = left
        .connect(&right)
        .key_by(|l| l.0, |r| r.0)
        .process(TagSubtask)
        .collect();
    env.execute("keyed connect").unwrap();
    let mut owner = BTreeMap::new();
    for (key, subtask) in out.take() {
        assert_eq!(
            *owner.entry(key).or_insert(subtask),
            subtask,
            "key {key} split across subtasks"
        );
    }
    assert_eq!(owner.len(), 30);

    #[derive(Clone)]
    struct TagSubtask;
    impl KeyedCoProcessFunction<i64, (i64, char), (i64, char), (i64, usize)> for TagSubtask {
        fn process_element1(
            &mut self,
            v: (i64, char),
            ctx: &mut KeyedContext<'_, i64>,
            out: &mut Collector<'_, (i64, usize)>,
        ) -> Result<(), BoxError> {
            assert_eq!(*ctx.current_key(), v.0);
            out.collect((v.0, ctx.subtask_index()));
            Ok(())
        }
        fn process_element2(
            &mut self,
            v: (i64, char),
            ctx: &mut KeyedContext<'_, i64>,
            out: &mut Collector<'_, (i64, usize)>,
        ) -> Result<(), BoxError> {
            assert_eq!(*ctx.current_key(), v.0);
            out.collect((v.0, ctx.subtask_index()));
            Ok(())
        }
    }
}

#[test]
fn text_files_round_trip_at_any_parallelism() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let lines: Vec<String> = (0..5_000).map(|i| format!("line {i} {}", "x".repeat(i % 13))).collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let output = dir.path().join("out");
    let env = env(3);
    env.read_text_file(&input)
        .map(|l| l.to_uppercase())
        .write_as_text(&output)
        .set_parallelism(2);
    env.execute("files").unwrap();
    let mut written = Vec::new();
    for part in ["part-0", "part-1"] {
        let text = std::fs::read_to_string(output.join(part)).unwrap();
        written.extend(text.lines().map(str::to_string));
    }
    let expected: Vec<String> = lines.iter().map(|l| l.to_uppercase()).collect();
    assert_eq!(sorted(written), sorted(expected));
}

#[test]
fn text_sink_at_parallelism_one_writes_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("nested/result.txt");
    let env = env(1);
    env.from_collection(vec!["a", "b"].into_iter().map(String::from).collect::<Vec<_>>())
        .write_as_text(&output);
    env.execute("one file").unwrap();
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "a\nb\n");
}

#[test]
fn zero_buffer_timeout_and_tiny_buffers_still_deliver_everything() {
    let env = env(2);
    env.set_buffer_timeout(Duration::ZERO)
        .set_buffer_size(1)
        .set_channel_capacity(1);
    let out = env.from_sequence(1, 2_000).rebalance().map(|n| n + 1).collect();
    env.execute("latency mode").unwrap();
    assert_eq!(sorted(out.take()), (2..=2_001).collect::<Vec<_>>());
}

#[test]
fn iterator_source_runs_at_parallelism_one() {
    let env = env(4);
    let out = env.from_iter((0..100).map(|i| i * 2)).collect();
    env.execute("iterator").unwrap();
    assert_eq!(sorted(out.take()), (0..100).map(|i| i * 2).collect::<Vec<_>>());
}

#[test]
fn rate_limited_generator_emits_everything() {
    let env = env(2);
    let out = env
        .add_source(GeneratorSource::new(|i| i).with_count(500).with_rate_limit(20_000.0))
        .collect();
    env.execute("rate limit").unwrap();
    assert_eq!(sorted(out.take()), (0..500).collect::<Vec<u64>>());
}

mod bad_jobs {
    use super::*;

    fn error_of(env: &StreamExecutionEnvironment) -> String {
        match env.execute("bad") {
            Err(e) => e.to_string(),
            Ok(_) => panic!("expected the job to be rejected"),
        }
    }

    #[test]
    fn forward_between_different_parallelism_is_rejected() {
        let env = env(2);
        env.from_sequence(1, 10)
            .name("numbers")
            .forward()
            .map(|n| n)
            .name("single")
            .set_parallelism(1)
            .discard();
        let e = error_of(&env);
        assert!(
            e.contains("forward partitioning from 'numbers' (parallelism 2) to 'single' (parallelism 1)"),
            "{e}"
        );
    }

    #[test]
    fn parallelism_above_max_parallelism_is_rejected() {
        let env = env(1);
        env.from_sequence(1, 10)
            .map(|n| n)
            .name("wide")
            .set_parallelism(8)
            .set_max_parallelism(4)
            .discard();
        let e = error_of(&env);
        assert!(
            e.contains("operator 'wide'") && e.contains("exceeds max parallelism 4"),
            "{e}"
        );
    }

    #[test]
    fn non_parallel_source_with_parallelism_is_rejected() {
        let env = env(1);
        env.from_iter(0..3).name("iter").set_parallelism(2).discard();
        let e = error_of(&env);
        assert!(e.contains("operator 'iter'") && e.contains("up to 1"), "{e}");
    }

    #[test]
    fn duplicate_uids_are_rejected() {
        let env = env(1);
        let s = env.from_sequence(1, 10).uid("same");
        s.map(|n| n).uid("same").discard();
        let e = error_of(&env);
        assert!(e.contains("uid 'same'"), "{e}");
    }

    #[test]
    fn setter_on_a_union_is_reported() {
        let env = env(1);
        let a = env.from_sequence(1, 2);
        a.union(&a).name("merged").discard();
        let e = error_of(&env);
        assert!(e.contains("name() was called on a union"), "{e}");
    }

    #[test]
    fn empty_job_is_rejected() {
        let env = env(1);
        let e = error_of(&env);
        assert!(e.contains("has no operators"), "{e}");
    }

    #[test]
    fn zero_parallelism_is_rejected() {
        let env = env(0);
        env.from_sequence(1, 2).discard();
        let e = error_of(&env);
        assert!(e.contains("parallelism must be at least 1"), "{e}");
    }

    #[test]
    fn zero_buffer_size_is_rejected() {
        let env = env(1);
        env.set_buffer_size(0);
        env.from_sequence(1, 2).discard();
        let e = error_of(&env);
        assert!(e.contains("buffer_size"), "{e}");
    }
}
