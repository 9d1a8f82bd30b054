//! Operator (non-keyed) state: named lists per operator subtask.

use crate::codec;
use crate::error::StateError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::any::Any;

/// How a list of operator state is handed out when a job restores, possibly at a
/// different parallelism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Redistribution {
    /// The elements of all subtasks are concatenated and split into contiguous,
    /// nearly equal parts, one per new subtask (at unchanged parallelism every
    /// subtask gets its own elements back).
    EvenSplit,
    /// Every new subtask gets the elements of all old subtasks.
    Union,
    /// The whole list of old subtask `i` goes to new subtask `i % new_parallelism`,
    /// kept together: for state that refers to what one subtask wrote (a sink's
    /// pre-committed transactions) and must stay with the subtask that also cleans
    /// up that writer's leftovers.
    BySubtaskIndex,
}

/// One list of a snapshot: its name, redistribution mode and encoded elements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorList {
    /// The list's name.
    pub name: String,
    /// How it is redistributed.
    pub mode: Redistribution,
    /// Each element encoded on its own, so lists can be split without decoding.
    pub elements: Vec<serde_bytes::ByteBuf>,
}

/// The operator state of one subtask at a checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OperatorStateSnapshot {
    /// The lists.
    pub lists: Vec<OperatorList>,
}

impl OperatorStateSnapshot {
    /// Whether no list holds anything.
    pub fn is_empty(&self) -> bool {
        self.lists.iter().all(|l| l.elements.is_empty())
    }
}

struct Registered {
    name: String,
    mode: Redistribution,
    type_name: &'static str,
    list: Box<dyn Any + Send>,
    encode: fn(&(dyn Any + Send)) -> Result<Vec<serde_bytes::ByteBuf>, String>,
}

fn encode_list<T: Serialize + 'static>(list: &(dyn Any + Send)) -> Result<Vec<serde_bytes::ByteBuf>, String> {
    let list = list
        .downcast_ref::<Vec<T>>()
        .ok_or_else(|| "operator list type changed".to_string())?;
    list.iter()
        .map(|e| codec::encode(e).map(serde_bytes::ByteBuf::from))
        .collect()
}

/// Named lists of one operator subtask. Sources keep their read positions here;
/// user functions keep whatever must survive a failure and is not per key.
#[derive(Default)]
pub struct OperatorStateStore {
    registered: Vec<Registered>,
    restored: Vec<OperatorList>,
}

impl std::fmt::Debug for OperatorStateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.registered.iter().map(|r| r.name.as_str()).collect();
        f.debug_struct("OperatorStateStore").field("lists", &names).finish()
    }
}

impl OperatorStateStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding the lists restored for this subtask.
    pub fn restored(snapshot: OperatorStateSnapshot) -> Self {
        OperatorStateStore {
            registered: Vec::new(),
            restored: snapshot.lists,
        }
    }

    /// Whether this store was restored with any state.
    pub fn is_restored(&self) -> bool {
        !self.restored.is_empty()
    }

    /// The list `name` (restored elements on first access after a restore).
    pub fn list<T>(&mut self, name: &str, mode: Redistribution) -> Result<&mut Vec<T>, StateError>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        let index = match self.registered.iter().position(|r| r.name == name) {
            Some(index) => index,
            None => {
                let mut elements: Vec<T> = Vec::new();
                if let Some(position) = self.restored.iter().position(|l| l.name == name) {
                    let restored = self.restored.remove(position);
                    for (i, bytes) in restored.elements.iter().enumerate() {
                        elements.push(codec::decode(bytes).map_err(|message| StateError::Restore {
                            name: name.to_string(),
                            message: format!(
                                "element {i} does not decode as {} ({message})",
                                std::any::type_name::<T>()
                            ),
                        })?);
                    }
                }
                self.registered.push(Registered {
                    name: name.to_string(),
                    mode,
                    type_name: std::any::type_name::<T>(),
                    list: Box::new(elements),
                    encode: encode_list::<T>,
                });
                self.registered.len() - 1
            }
        };
        let registered = &mut self.registered[index];
        let type_name = registered.type_name;
        registered
            .list
            .downcast_mut::<Vec<T>>()
            .ok_or_else(|| StateError::TypeMismatch {
                name: name.to_string(),
                registered: type_name,
                requested: std::any::type_name::<T>(),
            })
    }

    /// Encodes every list (restored lists never accessed are kept as they were).
    pub fn snapshot(&self) -> Result<OperatorStateSnapshot, StateError> {
        let mut lists = Vec::with_capacity(self.registered.len() + self.restored.len());
        for r in &self.registered {
            let elements = (r.encode)(&*r.list).map_err(|message| StateError::Serialize {
                name: r.name.clone(),
                message,
            })?;
            lists.push(OperatorList {
                name: r.name.clone(),
                mode: r.mode,
                elements,
            });
        }
        lists.extend(self.restored.iter().cloned());
        Ok(OperatorStateSnapshot { lists })
    }
}

/// Hands the operator state of `old` subtasks to `new_parallelism` subtasks:
/// even-split lists are concatenated and cut into contiguous parts (kept as they are
/// when the parallelism is unchanged), union lists go to everyone in full, lists
/// redistributed by subtask index go whole to `old index % new_parallelism`.
pub fn redistribute(old: &[OperatorStateSnapshot], new_parallelism: usize) -> Vec<OperatorStateSnapshot> {
    let new_parallelism = new_parallelism.max(1);
    let mut result = vec![OperatorStateSnapshot::default(); new_parallelism];
    let mut names: Vec<(&str, Redistribution)> = Vec::new();
    for snapshot in old {
        for list in &snapshot.lists {
            if !names.iter().any(|(n, _)| *n == list.name) {
                names.push((&list.name, list.mode));
            }
        }
    }
    for (name, mode) in names {
        let per_old: Vec<&[serde_bytes::ByteBuf]> = old
            .iter()
            .map(|s| {
                s.lists
                    .iter()
                    .find(|l| l.name == name)
                    .map_or(&[][..], |l| &l.elements[..])
            })
            .collect();
        let parts: Vec<Vec<serde_bytes::ByteBuf>> = match mode {
            Redistribution::Union => {
                let all: Vec<_> = per_old.iter().flat_map(|e| e.iter().cloned()).collect();
                vec![all; new_parallelism]
            }
            Redistribution::EvenSplit if old.len() == new_parallelism => per_old.iter().map(|e| e.to_vec()).collect(),
            Redistribution::BySubtaskIndex => {
                let mut parts = vec![Vec::new(); new_parallelism];
                for (index, elements) in per_old.iter().enumerate() {
                    parts[index % new_parallelism].extend(elements.iter().cloned());
                }
                parts
            }
            Redistribution::EvenSplit => {
                let all: Vec<_> = per_old.iter().flat_map(|e| e.iter().cloned()).collect();
                let n = all.len();
                (0..new_parallelism)
                    .map(|i| all[n * i / new_parallelism..n * (i + 1) / new_parallelism].to_vec())
                    .collect()
            }
        };
        for (snapshot, elements) in result.iter_mut().zip(parts) {
            snapshot.lists.push(OperatorList {
                name: name.to_string(),
                mode,
                elements,
            });
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with(values: &[u32]) -> OperatorStateSnapshot {
        let mut store = OperatorStateStore::new();
        store
            .list::<u32>("offsets", Redistribution::EvenSplit)
            .unwrap()
            .extend_from_slice(values);
        store
            .list::<String>("seen", Redistribution::Union)
            .unwrap()
            .push(format!("{values:?}"));
        store.snapshot().unwrap()
    }

    fn decode_all(s: &OperatorStateSnapshot) -> (Vec<u32>, Vec<String>) {
        let mut store = OperatorStateStore::restored(s.clone());
        let offsets = store.list::<u32>("offsets", Redistribution::EvenSplit).unwrap().clone();
        let seen = store.list::<String>("seen", Redistribution::Union).unwrap().clone();
        (offsets, seen)
    }

    #[test]
    fn round_trip_at_same_parallelism_keeps_assignment() {
        let old = vec![store_with(&[1, 2, 3]), store_with(&[4])];
        let new = redistribute(&old, 2);
        assert_eq!(decode_all(&new[0]).0, vec![1, 2, 3]);
        assert_eq!(decode_all(&new[1]).0, vec![4]);
        // Union lists give everyone everything.
        assert_eq!(decode_all(&new[1]).1.len(), 2);
    }

    #[test]
    fn even_split_and_union_when_scaling() {
        let old = vec![store_with(&[1, 2, 3]), store_with(&[4, 5, 6, 7])];
        let new = redistribute(&old, 3);
        let parts: Vec<Vec<u32>> = new.iter().map(|s| decode_all(s).0).collect();
        assert_eq!(parts.concat(), vec![1, 2, 3, 4, 5, 6, 7]);
        assert!(parts.iter().all(|p| p.len() == 2 || p.len() == 3));
        for s in &new {
            assert_eq!(decode_all(s).1.len(), 2);
        }
        let merged = redistribute(&old, 1);
        assert_eq!(decode_all(&merged[0]).0, vec![1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn by_subtask_index_keeps_each_old_list_whole() {
        let old: Vec<OperatorStateSnapshot> = [&[1u32, 2][..], &[3], &[4, 5]]
            .iter()
            .map(|values| {
                let mut store = OperatorStateStore::new();
                store
                    .list::<u32>("txns", Redistribution::BySubtaskIndex)
                    .unwrap()
                    .extend_from_slice(values);
                store.snapshot().unwrap()
            })
            .collect();
        let parts = |p: usize| -> Vec<Vec<u32>> {
            redistribute(&old, p)
                .into_iter()
                .map(|s| {
                    OperatorStateStore::restored(s)
                        .list::<u32>("txns", Redistribution::BySubtaskIndex)
                        .unwrap()
                        .clone()
                })
                .collect()
        };
        assert_eq!(parts(3), vec![vec![1, 2], vec![3], vec![4, 5]]);
        assert_eq!(parts(2), vec![vec![1, 2, 4, 5], vec![3]]);
        assert_eq!(parts(4), vec![vec![1, 2], vec![3], vec![4, 5], vec![]]);
        assert_eq!(parts(1), vec![vec![1, 2, 3, 4, 5]]);
    }

    #[test]
    fn unaccessed_lists_survive_snapshots_and_types_are_checked() {
        let restored = OperatorStateStore::restored(store_with(&[9]));
        let again = restored.snapshot().unwrap();
        assert_eq!(decode_all(&again).0, vec![9]);
        let mut store = OperatorStateStore::restored(store_with(&[9]));
        let e = store
            .list::<String>("offsets", Redistribution::EvenSplit)
            .err()
            .unwrap();
        assert!(e.to_string().contains("does not decode"), "{e}");
    }
}
