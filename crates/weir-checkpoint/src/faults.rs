//! Checkpoint storage that fails on purpose, for tests of what a job does when its
//! storage is unavailable, full, or its clock is off.
//!
//! A [`FaultInjection`] wraps an object store (in memory, or a local directory)
//! and serves the locations `faulty://<name>/...` in this process: a job
//! configured with `faulty://<name>/checkpoints` as its checkpoint directory
//! reads and writes through it. Tests then inject [`Fault`]s: reads that fail a
//! few times (transient unavailability) or always (permanent), writes that fail
//! with "no space left on device", and a skew of the storage's clock.
//!
//! ```
//! use weir_checkpoint::faults::{Fault, FaultInjection, FaultKind, Operation};
//!
//! let storage = FaultInjection::in_memory("doc-example");
//! // The next three reads of a state file fail as if the storage were unreachable.
//! storage.inject(Fault::new(Operation::Read, FaultKind::Unavailable).times(3).on_paths_containing(".state"));
//! assert_eq!(storage.location().to_str(), Some("faulty://doc-example"));
//! ```

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions,
    PutOptions, PutPayload, PutResult,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The URL scheme of fault-injecting stores.
const SCHEME: &str = "faulty://";

/// What a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// Reading an object, a part of one, or its size (`get`, `head`).
    Read,
    /// Reading a part of an object only (a ranged `get`: what a task restoring
    /// its state does, as opposed to verifying whole files).
    ReadRange,
    /// Listing objects or prefixes.
    List,
    /// Writing an object (`put`, a multipart upload, a copy onto it).
    Write,
}

/// What an injected fault looks like to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// The storage cannot be reached (a refused connection): unavailability.
    Unavailable,
    /// "No space left on device" (ENOSPC).
    NoSpace,
}

/// One planned failure: `operation` fails with `kind` on matching paths, a number
/// of times or until [`FaultInjection::clear`].
#[derive(Debug, Clone)]
pub struct Fault {
    operation: Operation,
    kind: FaultKind,
    times: Option<u32>,
    path_contains: Option<String>,
}

impl Fault {
    /// Every `operation` fails with `kind`, until cleared.
    pub fn new(operation: Operation, kind: FaultKind) -> Self {
        Fault {
            operation,
            kind,
            times: None,
            path_contains: None,
        }
    }

    /// Only the next `n` matching operations fail.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Only operations on paths (object keys, or list prefixes) containing `text`.
    pub fn on_paths_containing(mut self, text: impl Into<String>) -> Self {
        self.path_contains = Some(text.into());
        self
    }

    fn matches(&self, operation: Operation, path: &str) -> bool {
        let applies =
            self.operation == operation || (self.operation == Operation::Read && operation == Operation::ReadRange);
        applies && self.times != Some(0) && self.path_contains.as_deref().is_none_or(|text| path.contains(text))
    }

    fn error(&self, operation: Operation, path: &str) -> object_store::Error {
        let source = match self.kind {
            FaultKind::Unavailable => std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                format!("storage unavailable (injected fault on {operation:?} of '{path}')"),
            ),
            FaultKind::NoSpace => std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                format!("No space left on device (injected fault on {operation:?} of '{path}')"),
            ),
        };
        object_store::Error::Generic {
            store: "faulty",
            source: Box::new(source),
        }
    }
}

#[derive(Debug, Default)]
struct Faults {
    planned: Vec<Fault>,
    injected: u64,
    skew_seconds: i64,
}

/// An object store that fails as planned, installed for `faulty://<name>/...`.
#[derive(Debug, Clone)]
pub struct FaultInjection {
    name: String,
    inner: Arc<dyn ObjectStore>,
    faults: Arc<Mutex<Faults>>,
}

impl std::fmt::Display for FaultInjection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FaultInjection({SCHEME}{})", self.name)
    }
}

impl FaultInjection {
    /// A store in memory, serving `faulty://<name>/...` from now on in this process
    /// (replacing an earlier one of the same name).
    pub fn in_memory(name: &str) -> Self {
        Self::install(name, Arc::new(object_store::memory::InMemory::new()))
    }

    /// A store over the local directory `root` (created if missing): the object
    /// `faulty://<name>/a/b` is the file `root/a/b`, so a test can also damage
    /// files directly.
    pub fn local(name: &str, root: &Path) -> Result<Self, crate::CheckpointError> {
        std::fs::create_dir_all(root).map_err(|e| crate::CheckpointError::io(root, e))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(root)
            .map_err(|e| crate::CheckpointError::remote(root, e))?;
        Ok(Self::install(name, Arc::new(store)))
    }

    fn install(name: &str, inner: Arc<dyn ObjectStore>) -> Self {
        let injection = FaultInjection {
            name: name.to_string(),
            inner,
            faults: Arc::new(Mutex::new(Faults::default())),
        };
        crate::object::register(SCHEME, name, Arc::new(injection.clone()));
        injection
    }

    /// The root location, `faulty://<name>`.
    pub fn location(&self) -> PathBuf {
        PathBuf::from(format!("{SCHEME}{}", self.name))
    }

    /// Plans `fault` (after those planned before: the first matching one fires).
    pub fn inject(&self, fault: Fault) {
        self.lock().planned.push(fault);
    }

    /// Removes every planned fault.
    pub fn clear(&self) {
        self.lock().planned.clear();
    }

    /// How many faults fired so far.
    pub fn injected(&self) -> u64 {
        self.lock().injected
    }

    /// Makes the storage's clock run `seconds` ahead (negative: behind) of the
    /// process's: every modification time it reports is shifted.
    pub fn set_clock_skew(&self, seconds: i64) {
        self.lock().skew_seconds = seconds;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The error of the first planned fault matching, if one fires now.
    fn fire(&self, operation: Operation, path: &str) -> Result<(), object_store::Error> {
        let mut faults = self.lock();
        let Some(fault) = faults.planned.iter_mut().find(|f| f.matches(operation, path)) else {
            return Ok(());
        };
        if let Some(times) = &mut fault.times {
            *times -= 1;
        }
        let error = fault.error(operation, path);
        faults.injected += 1;
        Err(error)
    }

    fn shift(&self, mut meta: ObjectMeta) -> ObjectMeta {
        let skew = self.lock().skew_seconds;
        if let Some(delta) = chrono::TimeDelta::try_seconds(skew) {
            meta.last_modified = meta
                .last_modified
                .checked_add_signed(delta)
                .unwrap_or(meta.last_modified);
        }
        meta
    }
}

#[async_trait]
impl ObjectStore for FaultInjection {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.fire(Operation::Write, location.as_ref())?;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.fire(Operation::Write, location.as_ref())?;
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &ObjectPath, options: GetOptions) -> object_store::Result<GetResult> {
        let operation = if options.range.is_some() {
            Operation::ReadRange
        } else {
            Operation::Read
        };
        self.fire(operation, location.as_ref())?;
        let mut result = self.inner.get_opts(location, options).await?;
        result.meta = self.shift(result.meta);
        Ok(result)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<ObjectPath>>,
    ) -> BoxStream<'static, object_store::Result<ObjectPath>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&ObjectPath>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let path = prefix.map_or("", |p| p.as_ref());
        if let Err(e) = self.fire(Operation::List, path) {
            return futures::stream::once(async move { Err(e) }).boxed();
        }
        let this = self.clone();
        self.inner
            .list(prefix)
            .map(move |meta| meta.map(|m| this.shift(m)))
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&ObjectPath>) -> object_store::Result<ListResult> {
        self.fire(Operation::List, prefix.map_or("", |p| p.as_ref()))?;
        let mut listed = self.inner.list_with_delimiter(prefix).await?;
        listed.objects = listed.objects.into_iter().map(|m| self.shift(m)).collect();
        Ok(listed)
    }

    async fn copy_opts(&self, from: &ObjectPath, to: &ObjectPath, options: CopyOptions) -> object_store::Result<()> {
        self.fire(Operation::Read, from.as_ref())?;
        self.fire(Operation::Write, to.as_ref())?;
        self.inner.copy_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorClass;
    use crate::object::Object;

    #[test]
    fn faults_fire_as_planned_and_are_classified() {
        let storage = FaultInjection::in_memory("faults-unit");
        let object = Object::parse(&storage.location().join("chk-1/task-0-0.state")).unwrap();
        object.write(b"state".to_vec()).unwrap();
        storage.inject(
            Fault::new(Operation::Read, FaultKind::Unavailable)
                .times(2)
                .on_paths_containing(".state"),
        );
        for _ in 0..2 {
            let e = object.read().unwrap_err();
            assert_eq!(e.class(), ErrorClass::Unavailable, "{e}");
            assert!(e.to_string().contains("injected"), "{e}");
        }
        assert_eq!(object.read().unwrap(), b"state");
        assert_eq!(storage.injected(), 2);

        storage.inject(Fault::new(Operation::Write, FaultKind::NoSpace));
        let e = object.write(b"more".to_vec()).unwrap_err();
        assert!(e.to_string().contains("No space left on device"), "{e}");
        storage.clear();
        object.write(b"more".to_vec()).unwrap();

        storage.inject(Fault::new(Operation::ReadRange, FaultKind::Unavailable).times(1));
        assert!(object.read().is_ok(), "a whole read is no ranged read");
        assert!(object.read_range(1, 2).is_err());
        assert_eq!(object.read_range(1, 2).unwrap(), b"or");

        storage.inject(Fault::new(Operation::List, FaultKind::Unavailable).times(1));
        assert!(Object::parse(&storage.location()).unwrap().list().is_err());
        assert_eq!(Object::parse(&storage.location()).unwrap().list().unwrap().len(), 1);

        let e = Object::parse(Path::new("faulty://not-installed/x")).unwrap_err();
        assert!(e.to_string().contains("not-installed"), "{e}");
    }
}
