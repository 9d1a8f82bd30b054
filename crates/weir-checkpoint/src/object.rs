//! Checkpoint files as objects, through the `object_store` crate, wherever they are:
//! a local directory (`LocalFileSystem`), S3 or an S3-compatible server, or memory.
//!
//! Every location is a `Path`. One whose text is a URL names an object store:
//! `s3://bucket/prefix/job-123/chk-7`, or `memory://name/...` (an in-process store,
//! for tests and experiments). Any other path is a local one, made absolute against
//! the current directory; all local paths share one process-wide `LocalFileSystem`.
//! The rest of the crate keeps passing `PathBuf`s around and asks [`Object::parse`]
//! for the object a path names; messages name the path as the user wrote it.
//!
//! S3 credentials and endpoint come from the environment, as with the AWS tools:
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT` (for
//! S3-compatible servers) and `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint.
//!
//! `LocalFileSystem` writes every file to a hidden staging name (`name#1`) and
//! renames it into place, so a put is atomic there too, and its copy is a hard link.
//! It does not sync: [`Object::sync_if_local`] syncs what was just written, and the
//! few things an object store has no notion of (an empty directory, removing the
//! directories a deletion emptied) are done here for local paths.
//!
//! The object store API is asynchronous; checkpoint storage is called from plain
//! threads (snapshot writers, the job master), so every request to a remote store
//! runs on a small runtime owned by this module and the calling thread waits for
//! it. Requests to the local file system run on the calling thread, where
//! `LocalFileSystem` does its (blocking) I/O directly.

use crate::error::CheckpointError;
use futures::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{GetResultPayload, MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::future::Future;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, OnceLock};

/// Parts of a multipart upload to an object store (and the size above which one
/// is used; S3 wants at least 5 MiB per part).
const PART_SIZE: usize = 8 << 20;

/// The same for the local file system, which has no minimum: each part is one
/// write on the calling thread, as from a 1 MiB `BufWriter`.
const LOCAL_PART_SIZE: usize = 1 << 20;

/// Parts of one upload to a remote store sent but not yet confirmed, at most.
const PARTS_IN_FLIGHT: usize = 2;

/// Bytes read at once from a local file.
const READ_CHUNK: usize = 1 << 20;

/// URL schemes that name remote storage (`faulty://` names stores installed by
/// [`crate::faults::FaultInjection`]).
const SCHEMES: [&str; 3] = ["s3://", "memory://", "faulty://"];

/// Whether `path` names remote storage (its text starts with a known URL scheme)
/// rather than a local directory.
pub fn is_remote(path: &Path) -> bool {
    path.to_str()
        .is_some_and(|s| SCHEMES.iter().any(|scheme| s.starts_with(scheme)))
}

/// What to sync of a local file just written (`LocalFileSystem` does not sync;
/// in an object store a finished put is durable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// Nothing: a scratch copy, such as a shared file fetched for a restore.
    None,
    /// The file's content; its name is made durable by a later sync of its
    /// directory (a state file, by its checkpoint's `_metadata`).
    File,
    /// The file and its directory.
    FileAndDir,
}

/// One object (or prefix) in an object store.
#[derive(Clone)]
pub(crate) struct Object {
    store: Arc<dyn ObjectStore>,
    key: ObjectPath,
    /// The location as the user wrote it, for messages.
    display: PathBuf,
    /// The absolute file system path, when the store is the local file system.
    file: Option<PathBuf>,
}

impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.display.display())
    }
}

fn runtime() -> Result<&'static tokio::runtime::Runtime, std::io::Error> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("weir-object-store")
        .enable_all()
        .build()?;
    Ok(RUNTIME.get_or_init(|| runtime))
}

/// The answer to a request running on this module's runtime.
type Pending<T> = Receiver<Result<T, object_store::Error>>;

/// Waits for the answer of a request started by [`Object::spawn`].
fn wait<T>(display: &Path, pending: Pending<T>) -> Result<T, CheckpointError> {
    match pending.recv() {
        Ok(result) => result.map_err(|e| CheckpointError::remote(display, e)),
        Err(_) => Err(CheckpointError::io(
            display,
            std::io::Error::other("the object store request was dropped"),
        )),
    }
}

type Stores = Mutex<HashMap<String, Arc<dyn ObjectStore>>>;

fn stores() -> &'static Stores {
    static STORES: OnceLock<Stores> = OnceLock::new();
    STORES.get_or_init(Default::default)
}

/// Makes `store` serve the locations `scheme://bucket/...` from now on.
pub(crate) fn register(scheme: &str, bucket: &str, store: Arc<dyn ObjectStore>) {
    let mut stores = stores().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    stores.insert(format!("{scheme}{bucket}"), store);
}

/// The store for `scheme://bucket` (`file://` for the local file system), built
/// once per process.
fn store(scheme: &str, bucket: &str, display: &Path) -> Result<Arc<dyn ObjectStore>, CheckpointError> {
    let mut stores = stores().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let id = format!("{scheme}{bucket}");
    if let Some(store) = stores.get(&id) {
        return Ok(store.clone());
    }
    let store: Arc<dyn ObjectStore> = match scheme {
        "faulty://" => {
            return Err(CheckpointError::remote_config(
                display,
                format!("no fault-injecting store named '{bucket}' is installed"),
            ))
        }
        "s3://" => Arc::new(
            object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| CheckpointError::remote(display, e))?,
        ),
        // No automatic cleanup: it would remove every directory a deletion
        // empties up to the root, the user's checkpoint directory included.
        "file://" => Arc::new(LocalFileSystem::new()),
        _ => Arc::new(object_store::memory::InMemory::new()),
    };
    stores.insert(id, store.clone());
    Ok(store)
}

/// `path` made absolute against the current directory, without `.` and `..`
/// components (resolved by name, as a shell's `cd` does).
fn absolute(path: &Path) -> Result<PathBuf, std::io::Error> {
    let mut normal = PathBuf::new();
    for component in std::path::absolute(path)?.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    Ok(normal)
}

/// What kind of file `meta` describes, for messages.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = meta.file_type();
        if kind.is_fifo() {
            return "FIFO";
        }
        if kind.is_char_device() {
            return "character device";
        }
        if kind.is_block_device() {
            return "block device";
        }
        if kind.is_socket() {
            return "socket";
        }
    }
    if meta.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

/// Removes `dir` and the directories below it that hold no file.
fn remove_empty_dirs(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_empty_dirs(&entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

impl Object {
    /// Starts `future`, a request to this object's store, on this module's
    /// runtime; on the local file system it runs to completion right here:
    /// outside a Tokio runtime `LocalFileSystem` does its I/O on the calling
    /// thread, which spares two thread hops per request.
    fn spawn<T: Send + 'static>(
        &self,
        future: impl Future<Output = Result<T, object_store::Error>> + Send + 'static,
    ) -> Result<Pending<T>, CheckpointError> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        if self.file.is_some() {
            let _ = sender.send(futures::executor::block_on(future));
            return Ok(receiver);
        }
        let runtime = runtime().map_err(|e| CheckpointError::io(&self.display, e))?;
        runtime.spawn(async move {
            let _ = sender.send(future.await);
        });
        Ok(receiver)
    }

    /// Runs `future` (see [`Object::spawn`]) and waits for it, from any thread,
    /// also one that runs a runtime of its own.
    fn block<T: Send + 'static>(
        &self,
        future: impl Future<Output = Result<T, object_store::Error>> + Send + 'static,
    ) -> Result<T, CheckpointError> {
        wait(&self.display, self.spawn(future)?)
    }

    /// The object (or prefix) `path` names: in an object store if it is a URL,
    /// else on the local file system.
    pub(crate) fn parse(path: &Path) -> Result<Object, CheckpointError> {
        let text = path.to_str();
        let Some(scheme) = SCHEMES
            .iter()
            .find(|scheme| text.is_some_and(|t| t.starts_with(**scheme)))
        else {
            let file = absolute(path).map_err(|e| CheckpointError::io(path, e))?;
            let key = ObjectPath::from_absolute_path(&file)
                .map_err(|e| CheckpointError::remote_config(path, e.to_string()))?;
            return Ok(Object {
                store: store("file://", "", path)?,
                key,
                display: path.to_path_buf(),
                file: Some(file),
            });
        };
        let rest = text.map_or("", |t| &t[scheme.len()..]);
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(CheckpointError::remote_config(path, "the URL names no bucket"));
        }
        let key = ObjectPath::parse(key.trim_matches('/'))
            .map_err(|e| CheckpointError::remote_config(path, e.to_string()))?;
        Ok(Object {
            store: store(scheme, bucket, path)?,
            key,
            display: path.to_path_buf(),
            file: None,
        })
    }

    /// The object `name` below this prefix.
    pub(crate) fn child(&self, name: &str) -> Object {
        Object {
            store: self.store.clone(),
            key: self.key.clone().join(name),
            display: self.display.join(name),
            file: self.file.as_ref().map(|file| file.join(name)),
        }
    }

    /// The object's size, or `None` if there is no such object. A local file that
    /// is not a regular file (a FIFO, a device, also through a symbolic link) is
    /// damage: it is never opened.
    pub(crate) fn head(&self) -> Result<Option<u64>, CheckpointError> {
        if let Some(file) = &self.file {
            return match std::fs::metadata(file) {
                Ok(meta) if meta.is_dir() => Ok(None),
                Ok(meta) if meta.is_file() => Ok(Some(meta.len())),
                Ok(meta) => Err(self.not_regular(&meta)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(CheckpointError::io(&self.display, e)),
            };
        }
        let (store, key) = (self.store.clone(), self.key.clone());
        let found = self.block(async move {
            match store.head(&key).await {
                Ok(meta) => Ok(Some(meta.size)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        Ok(found)
    }

    fn not_regular(&self, meta: &std::fs::Metadata) -> CheckpointError {
        CheckpointError::corrupt(
            &self.display,
            format!("is not a regular file but a {}", file_kind(meta)),
        )
    }

    /// The local file opened for reading, if it is a regular file (a FIFO would
    /// block the open, a device never end).
    fn open_regular(&self, file: &Path) -> Result<File, CheckpointError> {
        let meta = std::fs::metadata(file).map_err(|e| CheckpointError::io(&self.display, e))?;
        if !meta.is_file() {
            return Err(self.not_regular(&meta));
        }
        File::open(file).map_err(|e| CheckpointError::io(&self.display, e))
    }

    /// Whether anything is at this location: an object below it or, on the local
    /// file system, the directory itself (even empty).
    pub(crate) fn in_use(&self) -> Result<bool, CheckpointError> {
        match &self.file {
            Some(file) => Ok(file.exists()),
            None => self.has_children(),
        }
    }

    /// Creates the directory on the local file system (object stores have none:
    /// a prefix exists once something is below it).
    pub(crate) fn create_dir(&self) -> Result<(), CheckpointError> {
        match &self.file {
            Some(file) => std::fs::create_dir_all(file).map_err(|e| CheckpointError::io(&self.display, e)),
            None => Ok(()),
        }
    }

    /// Makes a local file just written as durable as `durability` says.
    pub(crate) fn sync_if_local(&self, durability: Durability) -> Result<(), CheckpointError> {
        let Some(file) = self.file.as_ref().filter(|_| durability != Durability::None) else {
            return Ok(());
        };
        File::open(file)
            .and_then(|f| f.sync_all())
            .map_err(|e| CheckpointError::io(&self.display, e))?;
        let dir = file.parent().filter(|_| durability == Durability::FileAndDir);
        if let Some(dir) = dir.and_then(|dir| File::open(dir).ok()) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Reads the whole object (a local one only if it is a regular file).
    pub(crate) fn read(&self) -> Result<Vec<u8>, CheckpointError> {
        let mut bytes = Vec::new();
        self.read_chunks(None, |chunk| {
            bytes.extend_from_slice(chunk);
            Ok(())
        })?;
        Ok(bytes)
    }

    /// Reads `len` bytes from `offset`; fewer bytes there is damage.
    pub(crate) fn read_range(&self, offset: u64, len: u64) -> Result<Vec<u8>, CheckpointError> {
        let short = |got: u64| {
            CheckpointError::corrupt(
                &self.display,
                format!("holds {got} of the {len} bytes expected from offset {offset}"),
            )
        };
        let size = usize::try_from(len).map_err(|_| short(0))?;
        let end = offset.checked_add(len).ok_or_else(|| short(0))?;
        if let Some(file) = &self.file {
            use std::io::Seek;
            let mut opened = self.open_regular(file)?;
            opened
                .seek(std::io::SeekFrom::Start(offset))
                .map_err(|e| CheckpointError::io(&self.display, e))?;
            let mut bytes = Vec::with_capacity(size);
            let got = opened
                .take(len)
                .read_to_end(&mut bytes)
                .map_err(|e| CheckpointError::io(&self.display, e))?;
            if got != size {
                return Err(short(got as u64));
            }
            return Ok(bytes);
        }
        if len == 0 {
            return Ok(Vec::new());
        }
        let (store, key) = (self.store.clone(), self.key.clone());
        let bytes = self.block(async move { store.get_range(&key, offset..end).await })?;
        if bytes.len() != size {
            return Err(short(bytes.len() as u64));
        }
        Ok(bytes.to_vec())
    }

    /// Passes at most `limit` bytes of `file` through `each`, chunk by chunk;
    /// returns the bytes passed.
    fn read_file_chunks(
        &self,
        file: std::fs::File,
        limit: u64,
        mut each: impl FnMut(&[u8]) -> Result<(), CheckpointError>,
    ) -> Result<u64, CheckpointError> {
        let mut opened = file.take(limit);
        let mut buffer = vec![0u8; READ_CHUNK];
        let mut size = 0u64;
        loop {
            let n = opened
                .read(&mut buffer)
                .map_err(|e| CheckpointError::io(&self.display, e))?;
            if n == 0 {
                return Ok(size);
            }
            size += n as u64;
            each(&buffer[..n])?;
        }
    }

    /// Streams the object through `each` chunk by chunk (a local file, if it is a
    /// regular file, on the calling thread), stopping after `limit` bytes when one
    /// is given; returns the bytes passed. Must not be called from inside an
    /// asynchronous runtime.
    pub(crate) fn read_chunks(
        &self,
        limit: Option<u64>,
        mut each: impl FnMut(&[u8]) -> Result<(), CheckpointError>,
    ) -> Result<u64, CheckpointError> {
        let limit = limit.unwrap_or(u64::MAX);
        let mut size = 0u64;
        if let Some(file) = &self.file {
            return self.read_file_chunks(self.open_regular(file)?, limit, each);
        }
        let (store, key) = (self.store.clone(), self.key.clone());
        let found = self.block(async move { store.get(&key).await })?;
        let stream = match found.payload {
            GetResultPayload::File(file, _) => return self.read_file_chunks(file, limit, each),
            GetResultPayload::Stream(stream) => stream,
        };
        let runtime = runtime().map_err(|e| CheckpointError::io(&self.display, e))?;
        let (sender, mut receiver) = tokio::sync::mpsc::channel(4);
        runtime.spawn(async move {
            let mut stream = stream;
            while let Some(chunk) = stream.next().await {
                let failed = chunk.is_err();
                if sender.send(chunk).await.is_err() || failed {
                    break;
                }
            }
        });
        while let Some(chunk) = receiver.blocking_recv() {
            let chunk = chunk.map_err(|e| CheckpointError::remote(&self.display, e))?;
            let room = usize::try_from(limit - size).unwrap_or(usize::MAX);
            let chunk = &chunk[..chunk.len().min(room)];
            size += chunk.len() as u64;
            each(chunk)?;
            if size == limit {
                // Dropping the receiver ends the download.
                break;
            }
        }
        Ok(size)
    }

    /// Writes the whole object at once (atomic: readers see all of it or
    /// nothing), synced with its directory when local.
    pub(crate) fn write(&self, bytes: Vec<u8>) -> Result<(), CheckpointError> {
        self.put(bytes)?;
        self.sync_if_local(Durability::FileAndDir)
    }

    fn put(&self, bytes: Vec<u8>) -> Result<(), CheckpointError> {
        let (store, key) = (self.store.clone(), self.key.clone());
        self.block(async move { store.put(&key, PutPayload::from(bytes)).await })?;
        Ok(())
    }

    /// A writer that streams into this object (see [`ObjectWriter`]).
    pub(crate) fn writer(&self) -> ObjectWriter {
        let part_size = if self.file.is_some() {
            LOCAL_PART_SIZE
        } else {
            PART_SIZE
        };
        ObjectWriter {
            target: self.clone(),
            part_size,
            buffer: Vec::new(),
            upload: None,
            parts: VecDeque::new(),
        }
    }

    /// Copies the object to `to`, as durable as `durability` says. Within one
    /// store the store copies: server-side in S3, a hard link on the local file
    /// system (where a failed link, as across devices, falls back to copying the
    /// bytes). Across stores the bytes stream through this process.
    pub(crate) fn copy_to(&self, to: &Object, durability: Durability) -> Result<(), CheckpointError> {
        if let Some(file) = &self.file {
            // Never link or copy a FIFO or a device into place.
            self.open_regular(file)?;
        }
        if Arc::ptr_eq(&self.store, &to.store) {
            let (store, from, key) = (self.store.clone(), self.key.clone(), to.key.clone());
            match self.block(async move { store.copy(&from, &key).await }) {
                Ok(()) => return to.sync_if_local(durability),
                Err(e) if self.file.is_none() => return Err(e),
                Err(e) => tracing::debug!("{e}; copying the bytes instead"),
            }
        }
        let mut writer = to.writer();
        self.read_chunks(None, |chunk| writer.write(chunk))?;
        writer.finish(durability)
    }

    /// The names of the "directories" directly below this prefix.
    pub(crate) fn child_dirs(&self) -> Result<Vec<String>, CheckpointError> {
        let (store, key) = (self.store.clone(), self.key.clone());
        let listed = self.block(async move { store.list_with_delimiter(Some(&key)).await })?;
        Ok(listed
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .collect())
    }

    /// Every object below this prefix (not files being written).
    pub(crate) fn list(&self) -> Result<Vec<ObjectMeta>, CheckpointError> {
        let (store, key) = (self.store.clone(), self.key.clone());
        self.block(async move {
            let mut listed = store.list(Some(&key));
            let mut all = Vec::new();
            while let Some(meta) = listed.next().await {
                all.push(meta?);
            }
            Ok(all)
        })
    }

    /// Whether anything lies below this prefix.
    pub(crate) fn has_children(&self) -> Result<bool, CheckpointError> {
        let (store, key) = (self.store.clone(), self.key.clone());
        self.block(async move {
            let mut listed = store.list(Some(&key));
            Ok(listed.next().await.transpose()?.is_some())
        })
    }

    /// The name of `meta`'s object relative to this prefix.
    pub(crate) fn relative<'a>(&self, meta: &'a ObjectMeta) -> Option<&'a str> {
        meta.location
            .as_ref()
            .strip_prefix(self.key.as_ref())
            .map(|rest| rest.trim_start_matches('/'))
    }

    /// Deletes the object.
    pub(crate) fn delete(&self) -> Result<(), CheckpointError> {
        let (store, key) = (self.store.clone(), self.key.clone());
        self.block(async move {
            match store.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e),
            }
        })
    }

    /// Deletes every object below this prefix and, on the local file system, the
    /// directories that leaves empty.
    pub(crate) fn delete_all(&self) -> Result<(), CheckpointError> {
        for meta in self.list()? {
            let (store, key) = (self.store.clone(), meta.location.clone());
            self.block(async move {
                match store.delete(&key).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(e),
                }
            })?;
        }
        if let Some(file) = &self.file {
            remove_empty_dirs(file);
        }
        Ok(())
    }
}

/// Writes one object as its bytes come, without a local copy: they are buffered
/// up to a part; an object of at most one part is a single put, a larger one a
/// multipart upload whose parts go out as they fill (to a remote store while the
/// caller writes on). Nothing is visible before [`finish`]; a writer dropped
/// unfinished aborts its upload.
///
/// [`finish`]: ObjectWriter::finish
pub(crate) struct ObjectWriter {
    target: Object,
    part_size: usize,
    buffer: Vec<u8>,
    upload: Option<Box<dyn MultipartUpload>>,
    parts: VecDeque<Pending<()>>,
}

impl ObjectWriter {
    /// Appends `bytes`.
    pub(crate) fn write(&mut self, mut bytes: &[u8]) -> Result<(), CheckpointError> {
        while !bytes.is_empty() {
            if self.buffer.len() == self.part_size {
                self.send_part()?;
            }
            let room = self.part_size - self.buffer.len();
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            self.buffer.extend_from_slice(now);
            bytes = rest;
        }
        Ok(())
    }

    /// Sends the buffer as the next part (starting the upload with the first).
    fn send_part(&mut self) -> Result<(), CheckpointError> {
        let target = &self.target;
        let upload = match &mut self.upload {
            Some(upload) => upload,
            None => {
                let (store, key) = (target.store.clone(), target.key.clone());
                self.upload
                    .insert(target.block(async move { store.put_multipart(&key).await })?)
            }
        };
        let part = std::mem::replace(&mut self.buffer, Vec::with_capacity(self.part_size));
        self.parts
            .push_back(target.spawn(upload.put_part(PutPayload::from(part)))?);
        while self.parts.len() > PARTS_IN_FLIGHT {
            if let Some(part) = self.parts.pop_front() {
                wait(&target.display, part)?;
            }
        }
        Ok(())
    }

    /// Writes what is buffered and completes the object, as durable as
    /// `durability` says.
    pub(crate) fn finish(mut self, durability: Durability) -> Result<(), CheckpointError> {
        if self.upload.is_none() {
            self.target.put(std::mem::take(&mut self.buffer))?;
            return self.target.sync_if_local(durability);
        }
        if !self.buffer.is_empty() {
            self.send_part()?;
        }
        while let Some(part) = self.parts.pop_front() {
            wait(&self.target.display, part)?;
        }
        if let Some(mut upload) = self.upload.take() {
            self.target.block(async move { upload.complete().await })?;
        }
        self.target.sync_if_local(durability)
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        if let Some(mut upload) = self.upload.take() {
            // Not waited for in an object store; done at once on the local one.
            let _ = self.target.spawn(async move { upload.abort().await });
        }
    }
}
