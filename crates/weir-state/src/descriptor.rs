//! State descriptors: the name and type of a piece of keyed state.

use std::marker::PhantomData;
use std::sync::Arc;

/// Declares a keyed value state named `name` holding one `V` per key.
///
/// Create it once (e.g. in the function's constructor) and keep it in the function:
/// every access through the same descriptor finds the state without a string
/// comparison.
pub struct ValueStateDescriptor<V> {
    pub(crate) name: Arc<str>,
    _value: PhantomData<fn() -> V>,
}

impl<V> ValueStateDescriptor<V> {
    /// A descriptor of value state `name`.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        ValueStateDescriptor {
            name: name.into(),
            _value: PhantomData,
        }
    }

    /// The state's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl<V> Clone for ValueStateDescriptor<V> {
    fn clone(&self) -> Self {
        ValueStateDescriptor {
            name: self.name.clone(),
            _value: PhantomData,
        }
    }
}

impl<V> std::fmt::Debug for ValueStateDescriptor<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueStateDescriptor")
            .field("name", &self.name)
            .field("type", &std::any::type_name::<V>())
            .finish()
    }
}
