//! How a failure inside an operator reaches the job.
//!
//! Operator code runs deep inside a chain of direct calls. When user code panics or
//! returns an error, the operator wrapper turns it into an [`OperatorFailure`] that
//! names the operator and subtask and unwinds to the task's loop with it
//! ([`fail`]); operators further up the chain let it pass unchanged
//! ([`guard`]), so the innermost operator is the one reported. The task catches it,
//! shuts down, and the job fails with [`weir_core::WeirError::TaskFailed`].
//!
//! Weir therefore needs `panic = "unwind"` (Rust's default).

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;
use weir_core::BoxError;

/// Which operator a piece of code belongs to, for error reports.
#[derive(Debug, Clone)]
pub struct OperatorMeta {
    /// The operator's name.
    pub name: Arc<str>,
    /// Zero-based subtask index.
    pub subtask: usize,
    /// Operator parallelism.
    pub parallelism: usize,
}

impl OperatorMeta {
    /// Meta for subtask `subtask` of `parallelism` of operator `name`.
    pub fn new(name: impl Into<Arc<str>>, subtask: usize, parallelism: usize) -> Self {
        OperatorMeta {
            name: name.into(),
            subtask,
            parallelism,
        }
    }
}

/// Why a task stopped abnormally.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FailureCause {
    /// User or connector code failed: a panic message or an error's display text.
    Error(String),
    /// The task could not start from the restored state; restarting cannot help.
    Restore(String),
    /// The task was cancelled (another task failed or the user cancelled the job).
    Cancelled,
}

/// The unwinding payload that carries a failure to the task loop.
#[derive(Debug, Clone)]
pub struct OperatorFailure {
    /// Operator whose code failed.
    pub operator: Arc<str>,
    /// Its subtask index.
    pub subtask: usize,
    /// Its parallelism.
    pub parallelism: usize,
    /// What happened.
    pub cause: FailureCause,
}

/// Unwinds to the task loop with a failure of `meta`'s operator.
#[cold]
#[inline(never)]
pub fn fail(meta: &OperatorMeta, cause: impl std::fmt::Display) -> ! {
    resume_unwind(Box::new(OperatorFailure {
        operator: meta.name.clone(),
        subtask: meta.subtask,
        parallelism: meta.parallelism,
        cause: FailureCause::Error(cause.to_string()),
    }))
}

/// Unwinds to the task loop because the task was cancelled.
#[cold]
#[inline(never)]
pub fn cancelled(meta: &OperatorMeta) -> ! {
    resume_unwind(Box::new(OperatorFailure {
        operator: meta.name.clone(),
        subtask: meta.subtask,
        parallelism: meta.parallelism,
        cause: FailureCause::Cancelled,
    }))
}

/// Unwinds with `meta`'s failure if `result` is an error.
#[inline]
pub fn check<T>(meta: &OperatorMeta, result: Result<T, BoxError>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => fail(meta, ErrorChain(&*e)),
    }
}

/// Runs user code of `meta`'s operator. A panic inside it becomes that operator's
/// [`OperatorFailure`]; a failure already attributed to a downstream operator passes
/// through unchanged.
#[inline(always)]
pub fn guard<R>(meta: &OperatorMeta, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => rethrow(meta, payload),
    }
}

#[cold]
#[inline(never)]
fn rethrow(meta: &OperatorMeta, payload: Box<dyn Any + Send>) -> ! {
    if payload.is::<OperatorFailure>() {
        resume_unwind(payload)
    }
    fail(meta, format!("panicked: {}", panic_message(&*payload)))
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(f) = payload.downcast_ref::<OperatorFailure>() {
        format!("{f:?}")
    } else {
        "non-string panic payload".to_string()
    }
}

/// Turns whatever a task's top-level `catch_unwind` caught into an
/// [`OperatorFailure`], attributing unknown panics to `fallback`.
pub fn into_failure(payload: Box<dyn Any + Send>, fallback: &OperatorMeta) -> OperatorFailure {
    match payload.downcast::<OperatorFailure>() {
        Ok(f) => *f,
        Err(other) => OperatorFailure {
            operator: fallback.name.clone(),
            subtask: fallback.subtask,
            parallelism: fallback.parallelism,
            cause: FailureCause::Error(format!("panicked: {}", panic_message(&*other))),
        },
    }
}

/// Displays an error with its chain of sources: `outer: inner: innermost`.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catch(f: impl FnOnce()) -> OperatorFailure {
        let meta = OperatorMeta::new("task", 0, 1);
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(()) => panic!("expected failure"),
            Err(p) => into_failure(p, &meta),
        }
    }

    #[test]
    fn innermost_operator_is_reported() {
        let outer = OperatorMeta::new("outer", 1, 2);
        let inner = OperatorMeta::new("inner", 1, 2);
        let f = catch(|| guard(&outer, || guard(&inner, || panic!("boom"))));
        assert_eq!(&*f.operator, "inner");
        assert!(matches!(f.cause, FailureCause::Error(ref m) if m.contains("boom")));
    }

    #[test]
    fn errors_are_reported_with_their_sources() {
        let meta = OperatorMeta::new("parse", 0, 1);
        let err: BoxError = Box::new(std::io::Error::other("disk gone"));
        let f = catch(|| check::<()>(&meta, Err(err)));
        assert_eq!(&*f.operator, "parse");
        assert!(matches!(f.cause, FailureCause::Error(ref m) if m.contains("disk gone")));
    }

    #[test]
    fn unknown_panics_go_to_the_fallback() {
        let f = catch(|| panic!("raw"));
        assert_eq!(&*f.operator, "task");
    }
}
