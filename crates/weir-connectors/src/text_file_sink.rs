//! A sink that writes one line per record.

use std::fmt::Display;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use weir_core::{BoxError, WeirError};
use weir_runtime::sink::{Sink, SinkContext, SinkWriter};

/// Writes each record's `Display` form as a line. At parallelism 1 the path is the
/// output file; at higher parallelism it is a directory holding one file per
/// subtask, `part-0`, `part-1`, …. Existing files are replaced; missing parent
/// directories are created.
///
/// Output becomes complete when the input ends. This sink is not fault tolerant;
/// exactly-once file output comes from the transactional file sink.
#[derive(Debug, Clone)]
pub struct TextFileSink {
    path: PathBuf,
}

impl TextFileSink {
    /// A sink writing to `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        TextFileSink { path: path.into() }
    }
}

struct TextFileWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl<T: Display> SinkWriter<T> for TextFileWriter {
    fn write(&mut self, value: T, _: Option<i64>) -> Result<(), BoxError> {
        writeln!(self.out, "{value}").map_err(|e| WeirError::io(&self.path, e))?;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), BoxError> {
        self.out.flush().map_err(|e| WeirError::io(&self.path, e))?;
        self.out
            .get_ref()
            .sync_all()
            .map_err(|e| WeirError::io(&self.path, e))?;
        Ok(())
    }
}

impl<T: Display + 'static> Sink<T> for TextFileSink {
    fn create_writer(&self, context: &SinkContext) -> Result<Box<dyn SinkWriter<T>>, BoxError> {
        let info = &context.info;
        let path = if info.parallelism > 1 {
            std::fs::create_dir_all(&self.path)
                .map_err(|e| format!("cannot create the output directory: {}", WeirError::io(&self.path, e)))?;
            self.path.join(format!("part-{}", info.index))
        } else {
            if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    format!(
                        "cannot create the directory of output file '{}': {}",
                        self.path.display(),
                        WeirError::io(parent, e)
                    )
                })?;
            }
            self.path.clone()
        };
        let file = File::create(&path).map_err(|e| WeirError::io(&path, e))?;
        Ok(Box::new(TextFileWriter {
            out: BufWriter::with_capacity(256 * 1024, file),
            path,
        }))
    }
}
