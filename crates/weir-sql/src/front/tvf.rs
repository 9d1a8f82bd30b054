//! Flink's window table-valued functions.
//!
//! Flink writes windows as table functions over a table:
//!
//! ```sql
//! FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
//! FROM TABLE(HOP(DATA => TABLE bid, TIMECOL => DESCRIPTOR(dateTime),
//!                SLIDE => INTERVAL '2' SECOND, SIZE => INTERVAL '10' SECOND)) AS w
//! ```
//!
//! sqlparser cannot parse `TABLE bid` or `DESCRIPTOR(dateTime)` as arguments, so
//! before parsing, such a `FROM` item is rewritten at token level into a plain table
//! function call that DataFusion's planner hands to a registered table function:
//!
//! | Flink | rewritten |
//! | --- | --- |
//! | `TABLE(TUMBLE(TABLE t, DESCRIPTOR(c), size [, offset]))` | `weir_tumble('t', 'c', size [, offset])` |
//! | `TABLE(HOP(TABLE t, DESCRIPTOR(c), slide, size [, offset]))` | `weir_hop('t', 'c', slide, size [, offset])` |
//! | `TABLE(CUMULATE(TABLE t, DESCRIPTOR(c), step, max_size [, offset]))` | `weir_cumulate('t', 'c', step, max_size [, offset])` |
//! | `TABLE(SESSION(TABLE t [PARTITION BY k \| (k1, k2)], DESCRIPTOR(c), gap))` | `weir_session('t', 'c', gap, 'k1,k2')` |
//!
//! An alias after the call is kept. Durations are copied token by token, so they stay
//! what the user wrote (`INTERVAL '10' SECOND`). The rewrite itself lives in
//! `tvf_rewrite.rs`; the new tokens carry the spans of the tokens they replace, so
//! later errors still point into the original text.
//! [`WindowTvf::from_table_function`] recognises the call back from the arguments
//! DataFusion passes to the table function.

use datafusion::logical_expr::Expr;
use datafusion::scalar::ScalarValue;

use crate::error::SqlError;

/// `weir_tumble`.
pub const TUMBLE_FUNCTION: &str = "weir_tumble";
/// `weir_hop`.
pub const HOP_FUNCTION: &str = "weir_hop";
/// `weir_cumulate`.
pub const CUMULATE_FUNCTION: &str = "weir_cumulate";
/// `weir_session`.
pub const SESSION_FUNCTION: &str = "weir_session";

/// The columns a window TVF appends to its input's columns.
pub const WINDOW_COLUMNS: [&str; 3] = ["window_start", "window_end", "window_time"];

/// The kind of window and its durations in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowKind {
    /// Fixed, non-overlapping windows.
    Tumble {
        /// Window length.
        size_ms: i64,
    },
    /// Overlapping windows of `size_ms` starting every `slide_ms`.
    Hop {
        /// Distance between window starts.
        slide_ms: i64,
        /// Window length.
        size_ms: i64,
    },
    /// Windows growing by `step_ms` from each `max_size_ms` boundary.
    Cumulate {
        /// Growth step.
        step_ms: i64,
        /// Largest window length.
        max_size_ms: i64,
    },
    /// Windows closed by `gap_ms` of inactivity, per partition key.
    Session {
        /// Inactivity gap.
        gap_ms: i64,
        /// `PARTITION BY` columns, or empty.
        partition_keys: Vec<String>,
    },
}

/// A window table function call: its kind, input table and time column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowTvf {
    /// Kind and durations.
    pub kind: WindowKind,
    /// The input table (or view) name.
    pub table: String,
    /// The event-time (or processing-time) column of the input.
    pub time_column: String,
    /// Window offset (`OFFSET => ...`), 0 when not given (never for sessions).
    pub offset_ms: i64,
}

impl WindowTvf {
    /// The table function name of this kind (`weir_tumble`, ...).
    pub fn function_name(&self) -> &'static str {
        match self.kind {
            WindowKind::Tumble { .. } => TUMBLE_FUNCTION,
            WindowKind::Hop { .. } => HOP_FUNCTION,
            WindowKind::Cumulate { .. } => CUMULATE_FUNCTION,
            WindowKind::Session { .. } => SESSION_FUNCTION,
        }
    }

    /// Whether `name` is one of Weir's window table functions.
    pub fn is_window_function(name: &str) -> bool {
        [TUMBLE_FUNCTION, HOP_FUNCTION, CUMULATE_FUNCTION, SESSION_FUNCTION]
            .iter()
            .any(|f| f.eq_ignore_ascii_case(name))
    }

    /// Recognises a window TVF from the table function `name` and the arguments
    /// DataFusion passes to it (string literals for the table, the time column and the
    /// session keys; interval literals for durations).
    pub fn from_table_function(name: &str, args: &[Expr]) -> Result<Self, SqlError> {
        let function = name.to_ascii_lowercase();
        let err = |message: String| SqlError::WindowTvf {
            function: function.clone(),
            message,
        };
        let string = |index: usize, what: &str| -> Result<String, SqlError> {
            match args.get(index).map(strip_alias) {
                Some(Expr::Literal(
                    ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)),
                    _,
                )) => Ok(s.clone()),
                Some(other) => Err(err(format!(
                    "argument {} ({what}) must be a string literal, found {other}",
                    index + 1
                ))),
                None => Err(err(format!("missing argument {} ({what})", index + 1))),
            }
        };
        let duration = |index: usize, what: &str| -> Result<i64, SqlError> {
            let Some(arg) = args.get(index) else {
                return Err(err(format!("missing argument {} ({what})", index + 1)));
            };
            let ms = interval_ms(strip_alias(arg)).map_err(|m| err(format!("argument {} ({what}): {m}", index + 1)))?;
            if ms <= 0 {
                return Err(err(format!(
                    "argument {} ({what}) must be a positive interval, found {ms} ms",
                    index + 1
                )));
            }
            Ok(ms)
        };
        let offset = |index: usize| -> Result<i64, SqlError> {
            match args.get(index) {
                None => Ok(0),
                Some(arg) => {
                    interval_ms(strip_alias(arg)).map_err(|m| err(format!("argument {} (offset): {m}", index + 1)))
                }
            }
        };
        let check_count = |min: usize, max: usize| -> Result<(), SqlError> {
            if args.len() < min || args.len() > max {
                let expected = if min == max {
                    min.to_string()
                } else {
                    format!("{min} to {max}")
                };
                Err(err(format!("expected {expected} arguments, found {}", args.len())))
            } else {
                Ok(())
            }
        };
        let table = string(0, "table name")?;
        let time_column = string(1, "time column")?;
        let (kind, offset_ms) = match function.as_str() {
            TUMBLE_FUNCTION => {
                check_count(3, 4)?;
                (
                    WindowKind::Tumble {
                        size_ms: duration(2, "size")?,
                    },
                    offset(3)?,
                )
            }
            HOP_FUNCTION => {
                check_count(4, 5)?;
                (
                    WindowKind::Hop {
                        slide_ms: duration(2, "slide")?,
                        size_ms: duration(3, "size")?,
                    },
                    offset(4)?,
                )
            }
            CUMULATE_FUNCTION => {
                check_count(4, 5)?;
                let step_ms = duration(2, "step")?;
                let max_size_ms = duration(3, "max size")?;
                if max_size_ms % step_ms != 0 {
                    return Err(err(format!(
                        "the max size ({max_size_ms} ms) must be a whole multiple of the step ({step_ms} ms)"
                    )));
                }
                (WindowKind::Cumulate { step_ms, max_size_ms }, offset(4)?)
            }
            SESSION_FUNCTION => {
                check_count(3, 4)?;
                let gap_ms = duration(2, "gap")?;
                let keys = if args.len() > 3 {
                    string(3, "partition keys")?
                } else {
                    String::new()
                };
                let partition_keys = keys
                    .split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(String::from)
                    .collect();
                (WindowKind::Session { gap_ms, partition_keys }, 0)
            }
            _ => return Err(err("not a window table function".to_string())),
        };
        Ok(WindowTvf {
            kind,
            table,
            time_column,
            offset_ms,
        })
    }
}

fn strip_alias(expr: &Expr) -> &Expr {
    match expr {
        Expr::Alias(alias) => strip_alias(&alias.expr),
        other => other,
    }
}

/// Milliseconds of an interval (or duration) literal.
pub fn interval_ms(expr: &Expr) -> Result<i64, String> {
    const MS_PER_DAY: i64 = 86_400_000;
    let value = match expr {
        Expr::Literal(value, _) => value,
        other => return Err(format!("expected an INTERVAL literal, found {other}")),
    };
    let overflow = || "the interval is too large".to_string();
    match value {
        ScalarValue::IntervalMonthDayNano(Some(v)) => {
            if v.months != 0 {
                return Err("intervals of months or years have no fixed length".to_string());
            }
            i64::from(v.days)
                .checked_mul(MS_PER_DAY)
                .and_then(|d| d.checked_add(v.nanoseconds / 1_000_000))
                .ok_or_else(overflow)
        }
        ScalarValue::IntervalDayTime(Some(v)) => i64::from(v.days)
            .checked_mul(MS_PER_DAY)
            .and_then(|d| d.checked_add(i64::from(v.milliseconds)))
            .ok_or_else(overflow),
        ScalarValue::IntervalYearMonth(Some(_)) => Err("intervals of months or years have no fixed length".to_string()),
        ScalarValue::DurationSecond(Some(s)) => s.checked_mul(1000).ok_or_else(overflow),
        ScalarValue::DurationMillisecond(Some(ms)) => Ok(*ms),
        ScalarValue::DurationMicrosecond(Some(us)) => Ok(us / 1000),
        ScalarValue::DurationNanosecond(Some(ns)) => Ok(ns / 1_000_000),
        other => Err(format!("expected an INTERVAL literal, found {other}")),
    }
}

#[cfg(test)]
mod tests {
    use datafusion::logical_expr::lit;

    use super::*;

    #[test]
    fn interval_literals_in_ms() {
        let mdn = |m, d, ns| Expr::Literal(ScalarValue::new_interval_mdn(m, d, ns), None);
        assert_eq!(interval_ms(&mdn(0, 0, 10_000_000_000)), Ok(10_000));
        assert_eq!(interval_ms(&mdn(0, 2, 1_000_000)), Ok(172_800_001));
        assert!(interval_ms(&mdn(1, 0, 0)).is_err());
        let dt = Expr::Literal(ScalarValue::new_interval_dt(1, 500), None);
        assert_eq!(interval_ms(&dt), Ok(86_400_500));
        let duration = Expr::Literal(ScalarValue::DurationSecond(Some(3)), None);
        assert_eq!(interval_ms(&duration), Ok(3_000));
        assert!(interval_ms(&lit(5)).is_err());
        assert!(interval_ms(&lit("5 s")).is_err());
    }
}
