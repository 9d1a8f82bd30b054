//! Equal keys always meet in the same subtask, the one owning their key group.
#![allow(clippy::unwrap_used)]

use crate::common;

use proptest::prelude::*;
use std::collections::HashMap;
use weir::core::keygroup::subtask_for_key;
use weir::prelude::*;

fn owners(keys: Vec<String>, sources: usize, targets: usize, max_parallelism: usize) -> Vec<(String, usize)> {
    common::no_hang("keyed job", move || {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(sources).set_max_parallelism(max_parallelism);
        let seen = env
            .from_collection(keys)
            .key_by(|k: &String| k.clone())
            .process_fn(|k: String, ctx, out: &mut Collector<'_, (String, usize)>| {
                assert_eq!(ctx.current_key(), &k);
                out.collect((k, ctx.subtask_index()));
                Ok(())
            })
            .set_parallelism(targets)
            .collect();
        env.execute("keys").unwrap();
        seen.take()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn equal_keys_meet_in_one_subtask(
        keys in proptest::collection::vec("[a-e]{1,3}", 1..400),
        sources in 1usize..=4,
        targets in 1usize..=4,
        max_parallelism in 4usize..=300,
    ) {
        let expected = keys.len();
        let seen = owners(keys, sources, targets, max_parallelism);
        prop_assert_eq!(seen.len(), expected);
        let mut owner: HashMap<String, usize> = HashMap::new();
        for (key, subtask) in seen {
            let first = *owner.entry(key.clone()).or_insert(subtask);
            prop_assert_eq!(first, subtask, "key {} seen in subtasks {} and {}", key, first, subtask);
            prop_assert_eq!(subtask, subtask_for_key(&key, max_parallelism, targets));
        }
    }
}
