//! Where the REST API may write savepoints: below the default savepoint directory
//! and the directories allowed besides it, never anywhere a request names.

use crate::error::ApiError;
use std::path::{Component, Path, PathBuf};

/// One allowed place: a local directory (absolute; its symbolic links are followed
/// at each check, as the target's are) or a remote prefix such as
/// `s3://bucket/savepoints`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Allowed {
    Local(PathBuf),
    Remote(String),
}

/// The directories savepoints requested over the REST API may go to.
#[derive(Debug, Clone, Default)]
pub(crate) struct SavepointTargets {
    allowed: Vec<(String, Allowed)>,
}

fn is_remote(target: &str) -> bool {
    target.contains("://")
}

/// `path` made absolute against the working directory, with the symbolic links of
/// its longest existing ancestor resolved (the rest does not exist yet, so it holds
/// no links). `..` is refused, so a name cannot climb out of an allowed directory.
fn resolve_local(path: &Path) -> Result<PathBuf, String> {
    if path.components().any(|c| c == Component::ParentDir) {
        return Err("'..' is not allowed in a savepoint target".into());
    }
    let absolute = std::path::absolute(path).map_err(|e| e.to_string())?;
    let mut existing = absolute.clone();
    let mut missing = Vec::new();
    loop {
        if let Ok(resolved) = existing.canonicalize() {
            let mut path = resolved;
            path.extend(missing.iter().rev());
            return Ok(path);
        }
        match existing.file_name() {
            Some(name) => {
                missing.push(name.to_os_string());
                existing.pop();
            }
            None => return Ok(absolute),
        }
    }
}

/// A remote prefix without trailing slashes; `.` and `..` segments are refused.
fn normalize_remote(target: &str) -> Result<String, String> {
    let trimmed = target.trim_end_matches('/');
    let path = trimmed.split_once("://").map_or("", |(_, rest)| rest);
    if path.split('/').any(|segment| segment == ".." || segment == ".") {
        return Err("'.' and '..' are not allowed in a savepoint target".into());
    }
    Ok(trimmed.to_string())
}

impl SavepointTargets {
    /// Allows savepoints below `dir` (and in it).
    pub(crate) fn allow(&mut self, dir: &Path) {
        let text = dir.display().to_string();
        let allowed = if is_remote(&text) {
            normalize_remote(&text).map(Allowed::Remote)
        } else if dir.components().any(|c| c == Component::ParentDir) {
            Err("'..' is not allowed in a savepoint directory".to_string())
        } else {
            std::path::absolute(dir).map(Allowed::Local).map_err(|e| e.to_string())
        };
        match allowed {
            Ok(allowed) => self.allowed.push((text, allowed)),
            // Never matches anything, so nothing is written there; say why once.
            Err(reason) => tracing::warn!("savepoint directory '{text}' cannot be allowed: {reason}"),
        }
    }

    /// The directory to write a savepoint requested into `target` to, or 403 when
    /// `target` is not below an allowed directory (400 when it is malformed).
    pub(crate) fn check(&self, target: &str) -> Result<PathBuf, ApiError> {
        let allowed_list = || {
            if self.allowed.is_empty() {
                "none: this server was started without a savepoint directory".to_string()
            } else {
                self.allowed
                    .iter()
                    .map(|(text, _)| text.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let forbidden = || {
            ApiError::Forbidden(format!(
                "savepoint target '{target}' is not below an allowed savepoint directory (allowed: {})",
                allowed_list()
            ))
        };
        if is_remote(target) {
            let normalized =
                normalize_remote(target).map_err(|reason| ApiError::BadRequest(format!("'{target}': {reason}")))?;
            let permitted = self.allowed.iter().any(|(_, allowed)| match allowed {
                Allowed::Remote(prefix) => {
                    normalized == *prefix
                        || normalized
                            .strip_prefix(prefix.as_str())
                            .is_some_and(|rest| rest.starts_with('/'))
                }
                Allowed::Local(_) => false,
            });
            return if permitted {
                Ok(PathBuf::from(target))
            } else {
                Err(forbidden())
            };
        }
        let path = Path::new(target);
        if !path.is_absolute() {
            return Err(ApiError::BadRequest(format!(
                "savepoint target '{target}' must be an absolute path (or an s3:// prefix)"
            )));
        }
        let resolved = resolve_local(path).map_err(|reason| ApiError::BadRequest(format!("'{target}': {reason}")))?;
        let permitted = self.allowed.iter().any(|(_, allowed)| match allowed {
            Allowed::Local(dir) => resolve_local(dir).is_ok_and(|dir| resolved.starts_with(dir)),
            Allowed::Remote(_) => false,
        });
        if permitted {
            Ok(resolved)
        } else {
            Err(forbidden())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_targets_below_allowed_directories_pass() {
        let dir = tempfile::tempdir().unwrap();
        let allowed = dir.path().join("savepoints");
        let mut targets = SavepointTargets::default();
        targets.allow(&allowed);
        targets.allow(Path::new("s3://bucket/sp/"));
        let base = allowed
            .canonicalize()
            .unwrap_or_else(|_| dir.path().canonicalize().unwrap().join("savepoints"));
        assert_eq!(targets.check(allowed.to_str().unwrap()).unwrap(), base);
        let below = allowed.join("a/b");
        assert_eq!(targets.check(below.to_str().unwrap()).unwrap(), base.join("a/b"));
        for refused in [
            dir.path().join("elsewhere"),
            dir.path().join("savepoints-2"),
            PathBuf::from("/etc"),
        ] {
            let e = targets.check(refused.to_str().unwrap()).unwrap_err();
            assert!(matches!(e, ApiError::Forbidden(_)), "{refused:?}: {e:?}");
        }
        let climb = allowed.join("../elsewhere");
        assert!(matches!(
            targets.check(climb.to_str().unwrap()),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(targets.check("relative/dir"), Err(ApiError::BadRequest(_))));
        assert!(targets.check("s3://bucket/sp").is_ok());
        assert!(targets.check("s3://bucket/sp/x").is_ok());
        assert!(matches!(targets.check("s3://bucket/spx"), Err(ApiError::Forbidden(_))));
        assert!(matches!(
            targets.check("s3://bucket/sp/../x"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(targets.check("s3://other/sp"), Err(ApiError::Forbidden(_))));
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_does_not_lead_out() {
        let dir = tempfile::tempdir().unwrap();
        let allowed = dir.path().join("savepoints");
        std::fs::create_dir(&allowed).unwrap();
        std::fs::create_dir(dir.path().join("secret")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), allowed.join("link")).unwrap();
        let mut targets = SavepointTargets::default();
        targets.allow(&allowed);
        let e = targets.check(allowed.join("link/x").to_str().unwrap()).unwrap_err();
        assert!(matches!(e, ApiError::Forbidden(_)), "{e:?}");
    }

    #[test]
    fn nothing_is_allowed_without_directories() {
        let e = SavepointTargets::default().check("/tmp/x").unwrap_err();
        assert!(e.to_string().contains("without a savepoint directory"), "{e}");
    }
}
