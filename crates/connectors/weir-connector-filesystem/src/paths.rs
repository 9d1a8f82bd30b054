//! Finding the files a source reads: paths, directories (walked recursively) and
//! glob patterns. Hidden names (starting with `.` or `_`, such as a sink's
//! in-progress files and `_SUCCESS` markers) are skipped inside directories.

use crate::error::FileSystemError;
use std::fs;
use std::path::{Path, PathBuf};

/// Whether `name` is hidden: a file the sinks of Weir, Flink, Spark or Hadoop
/// are still writing, or a marker.
pub(crate) fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

fn is_pattern(spec: &str) -> bool {
    spec.contains(['*', '?', '['])
}

/// `path` made absolute against the current directory (kept as given when that
/// fails: its first use then reports the problem).
pub(crate) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), FileSystemError> {
    let entries = fs::read_dir(dir).map_err(|e| FileSystemError::io("cannot list directory", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| FileSystemError::io("cannot list directory", dir, e))?;
        let name = entry.file_name();
        if is_hidden(&name.to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| FileSystemError::io("cannot inspect", &path, e))?;
        if kind.is_dir() || (kind.is_symlink() && path.is_dir()) {
            walk(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// The files of `specs` (paths, directories walked recursively, glob patterns),
/// absolute, sorted and without duplicates, as the [`FileSource`](crate::FileSource)
/// finds them: names starting with `.` or `_` inside directories are skipped. A
/// path or pattern that finds nothing is an error unless `allow_missing` (a
/// monitored source waits for files to appear).
pub fn list_files(specs: &[String], allow_missing: bool) -> Result<Vec<PathBuf>, FileSystemError> {
    let mut files = Vec::new();
    for spec in specs {
        if is_pattern(spec) {
            let pattern = absolute(Path::new(spec));
            let pattern = pattern.to_string_lossy();
            let matches = glob::glob(&pattern).map_err(|e| FileSystemError::InvalidPattern {
                pattern: spec.clone(),
                reason: e.to_string(),
            })?;
            let before = files.len();
            for entry in matches {
                let path = entry.map_err(|e| {
                    let path = e.path().to_path_buf();
                    FileSystemError::io("cannot read", path, e.into())
                })?;
                let hidden = path.file_name().is_some_and(|n| is_hidden(&n.to_string_lossy()));
                if path.is_dir() {
                    walk(&path, &mut files)?;
                } else if !hidden {
                    files.push(path);
                }
            }
            if files.len() == before && !allow_missing {
                return Err(FileSystemError::NoMatch { pattern: spec.clone() });
            }
        } else {
            let path = absolute(Path::new(spec));
            match fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => walk(&path, &mut files)?,
                Ok(_) => files.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if !allow_missing {
                        return Err(FileSystemError::PathNotFound { path });
                    }
                }
                Err(e) => return Err(FileSystemError::io("cannot inspect", path, e)),
            }
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_directories_and_globs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("a/b")).unwrap();
        for name in [
            "x.json",
            "a/y.json",
            "a/b/z.json",
            "a/.hidden",
            "a/_SUCCESS",
            "a/b/w.csv",
        ] {
            fs::write(root.join(name), "1\n").unwrap();
        }
        let all = list_files(&[root.display().to_string()], false).unwrap();
        let names: Vec<String> = all
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a/b/w.csv", "a/b/z.json", "a/y.json", "x.json"]);
        let json = list_files(&[format!("{}/**/*.json", root.display())], false).unwrap();
        assert_eq!(json.len(), 3);
        let missing = root.join("nope");
        let e = list_files(&[missing.display().to_string()], false).unwrap_err();
        assert!(e.to_string().contains(&missing.display().to_string()), "{e}");
        let e = list_files(&[format!("{}/*.parquet", root.display())], false).unwrap_err();
        assert!(e.to_string().contains("matches no file"), "{e}");
        assert!(list_files(&[missing.display().to_string()], true).unwrap().is_empty());
    }
}
