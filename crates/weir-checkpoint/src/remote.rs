//! Checkpoint files in an object store (S3 and S3-compatible servers) through the
//! `object_store` crate.
//!
//! A remote location is written like a path whose text is a URL:
//! `s3://bucket/prefix/job-123/chk-7`. The rest of the crate keeps passing
//! `PathBuf`s around; every file operation asks [`Remote::parse`] whether its path
//! is remote and goes to the object store if so.
//!
//! S3 credentials and endpoint come from the environment, as with the AWS tools:
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT` (for
//! S3-compatible servers) and `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint.
//! `memory://name/...` is an in-process store, for tests and experiments.
//!
//! The object store API is asynchronous; checkpoint storage is called from plain
//! threads (snapshot writers, the job master), so every call runs on a small
//! runtime owned by this module and the calling thread waits for it.

use crate::error::CheckpointError;
use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use std::collections::HashMap;
use std::future::Future;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Parts of a multipart upload (and the size above which one is used).
const PART_SIZE: usize = 8 << 20;

/// URL schemes that name remote storage.
const SCHEMES: [&str; 2] = ["s3://", "memory://"];

/// Whether `path` names remote storage (its text starts with a known URL scheme).
pub fn is_remote(path: &Path) -> bool {
    path.to_str()
        .is_some_and(|s| SCHEMES.iter().any(|scheme| s.starts_with(scheme)))
}

/// One object (or prefix) in an object store.
#[derive(Clone)]
pub(crate) struct Remote {
    store: Arc<dyn ObjectStore>,
    key: ObjectPath,
    /// The location as the user wrote it, for messages.
    display: PathBuf,
}

impl std::fmt::Debug for Remote {
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

/// Runs `future` on this module's runtime and waits for it (from any thread,
/// also one that runs a runtime of its own).
fn block<T: Send + 'static>(
    display: &Path,
    future: impl Future<Output = Result<T, object_store::Error>> + Send + 'static,
) -> Result<T, CheckpointError> {
    let runtime = runtime().map_err(|e| CheckpointError::io(display, e))?;
    let (sender, receiver) = std::sync::mpsc::sync_channel(1);
    runtime.spawn(async move {
        let _ = sender.send(future.await);
    });
    match receiver.recv() {
        Ok(result) => result.map_err(|e| CheckpointError::remote(display, e)),
        Err(_) => Err(CheckpointError::io(
            display,
            std::io::Error::other("the object store request was dropped"),
        )),
    }
}

type Stores = Mutex<HashMap<String, Arc<dyn ObjectStore>>>;

/// The store for `scheme://bucket`, built once per process.
fn store(scheme: &str, bucket: &str, display: &Path) -> Result<Arc<dyn ObjectStore>, CheckpointError> {
    static STORES: OnceLock<Stores> = OnceLock::new();
    let stores = STORES.get_or_init(Default::default);
    let mut stores = stores.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let id = format!("{scheme}{bucket}");
    if let Some(store) = stores.get(&id) {
        return Ok(store.clone());
    }
    let store: Arc<dyn ObjectStore> = match scheme {
        "s3://" => Arc::new(
            object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| CheckpointError::remote(display, e))?,
        ),
        _ => Arc::new(object_store::memory::InMemory::new()),
    };
    stores.insert(id, store.clone());
    Ok(store)
}

impl Remote {
    /// The remote location `path` names, `None` if it is a local path.
    pub(crate) fn parse(path: &Path) -> Option<Result<Remote, CheckpointError>> {
        let text = path.to_str()?;
        let scheme = SCHEMES.iter().find(|scheme| text.starts_with(**scheme))?;
        let rest = &text[scheme.len()..];
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Some(Err(CheckpointError::remote_config(path, "the URL names no bucket")));
        }
        let key = key.trim_matches('/');
        let key = match ObjectPath::parse(key) {
            Ok(key) => key,
            Err(e) => return Some(Err(CheckpointError::remote_config(path, e.to_string()))),
        };
        Some(store(scheme, bucket, path).map(|store| Remote {
            store,
            key,
            display: path.to_path_buf(),
        }))
    }

    /// The object `name` below this prefix.
    pub(crate) fn child(&self, name: &str) -> Remote {
        Remote {
            store: self.store.clone(),
            key: self.key.clone().join(name),
            display: self.display.join(name),
        }
    }

    /// The object's size, or `None` if there is no such object.
    pub(crate) fn head(&self) -> Result<Option<ObjectMeta>, CheckpointError> {
        let (store, key) = (self.store.clone(), self.key.clone());
        let found = block(&self.display, async move {
            match store.head(&key).await {
                Ok(meta) => Ok(Some(meta)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        Ok(found)
    }

    /// Whether the object exists.
    pub(crate) fn exists(&self) -> bool {
        matches!(self.head(), Ok(Some(_)))
    }

    /// Reads the whole object.
    pub(crate) fn read(&self) -> Result<Vec<u8>, CheckpointError> {
        let (store, key) = (self.store.clone(), self.key.clone());
        let bytes = block(&self.display, async move { store.get(&key).await?.bytes().await })?;
        Ok(bytes.to_vec())
    }

    /// Streams the object through `each` chunk by chunk; returns its size. Must
    /// not be called from inside an asynchronous runtime.
    pub(crate) fn read_chunks(&self, mut each: impl FnMut(&[u8])) -> Result<u64, CheckpointError> {
        let runtime = runtime().map_err(|e| CheckpointError::io(&self.display, e))?;
        let (sender, mut receiver) = tokio::sync::mpsc::channel(4);
        let (store, key) = (self.store.clone(), self.key.clone());
        runtime.spawn(async move {
            match store.get(&key).await {
                Ok(result) => {
                    let mut stream = result.into_stream();
                    while let Some(chunk) = stream.next().await {
                        let failed = chunk.is_err();
                        if sender.send(chunk).await.is_err() || failed {
                            break;
                        }
                    }
                }
                Err(e) => {
                    let _ = sender.send(Err(e)).await;
                }
            }
        });
        let mut size = 0u64;
        while let Some(chunk) = receiver.blocking_recv() {
            let chunk = chunk.map_err(|e| CheckpointError::remote(&self.display, e))?;
            size += chunk.len() as u64;
            each(&chunk);
        }
        Ok(size)
    }

    /// Writes the whole object at once (atomic: readers see all of it or nothing).
    pub(crate) fn write(&self, bytes: Vec<u8>) -> Result<(), CheckpointError> {
        let (store, key) = (self.store.clone(), self.key.clone());
        block(
            &self.display,
            async move { store.put(&key, PutPayload::from(bytes)).await },
        )?;
        Ok(())
    }

    /// Uploads the local file `from` as this object (in parts when it is large).
    pub(crate) fn upload(&self, from: &Path) -> Result<u64, CheckpointError> {
        let mut file = std::fs::File::open(from).map_err(|e| CheckpointError::io(from, e))?;
        let size = file.metadata().map_err(|e| CheckpointError::io(from, e))?.len();
        if size <= PART_SIZE as u64 {
            let mut bytes = Vec::with_capacity(size as usize);
            file.read_to_end(&mut bytes).map_err(|e| CheckpointError::io(from, e))?;
            self.write(bytes)?;
            return Ok(size);
        }
        let (store, key) = (self.store.clone(), self.key.clone());
        let from = from.to_path_buf();
        block(&self.display, async move {
            let upload = store.put_multipart(&key).await?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
            let mut buffer = vec![0u8; PART_SIZE];
            loop {
                let n = match file.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        writer.abort().await?;
                        return Err(object_store::Error::Generic {
                            store: "local file",
                            source: format!("{}: {e}", from.display()).into(),
                        });
                    }
                };
                writer.wait_for_capacity(4).await?;
                writer.write(&buffer[..n]);
            }
            writer.finish().await?;
            Ok(())
        })?;
        Ok(size)
    }

    /// Downloads the object into the local file `to`.
    pub(crate) fn download(&self, to: &Path) -> Result<(), CheckpointError> {
        let mut file = std::fs::File::create(to).map_err(|e| CheckpointError::io(to, e))?;
        let mut failed = None;
        self.read_chunks(|chunk| {
            if failed.is_none() {
                failed = file.write_all(chunk).err();
            }
        })?;
        match failed {
            Some(e) => Err(CheckpointError::io(to, e)),
            None => file.sync_all().map_err(|e| CheckpointError::io(to, e)),
        }
    }

    /// Copies the object to `to` (server-side when both are in the same store).
    pub(crate) fn copy_to(&self, to: &Remote) -> Result<(), CheckpointError> {
        if Arc::ptr_eq(&self.store, &to.store) {
            let (store, from, key) = (self.store.clone(), self.key.clone(), to.key.clone());
            return block(&self.display, async move { store.copy(&from, &key).await });
        }
        to.write(self.read()?)
    }

    /// The names of the "directories" directly below this prefix.
    pub(crate) fn child_dirs(&self) -> Result<Vec<String>, CheckpointError> {
        let (store, key) = (self.store.clone(), self.key.clone());
        let listed = block(
            &self.display,
            async move { store.list_with_delimiter(Some(&key)).await },
        )?;
        Ok(listed
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .collect())
    }

    /// Every object below this prefix.
    pub(crate) fn list(&self) -> Result<Vec<ObjectMeta>, CheckpointError> {
        let (store, key) = (self.store.clone(), self.key.clone());
        block(&self.display, async move {
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
        block(&self.display, async move {
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
        block(&self.display, async move {
            match store.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e),
            }
        })
    }

    /// Deletes every object below this prefix.
    pub(crate) fn delete_all(&self) -> Result<(), CheckpointError> {
        for meta in self.list()? {
            let (store, key) = (self.store.clone(), meta.location.clone());
            block(&self.display, async move {
                match store.delete(&key).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(e),
                }
            })?;
        }
        Ok(())
    }
}
