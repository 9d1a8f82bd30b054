//! Flink's `PROCTIME()`: the wall-clock time at which a batch is processed, as
//! `TIMESTAMP(3)` (`Timestamp(Millisecond, None)`, UTC). Volatile, so the
//! optimizer never folds it into a constant; rows of one batch share one time.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arrow::datatypes::{DataType, Field, FieldRef, TimeUnit};
use datafusion::common::{exec_err, DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

/// Milliseconds since the epoch, now.
pub fn now_millis() -> Result<i64> {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| DataFusionError::Execution(format!("the clock is before 1970: {e}")))?;
    i64::try_from(since_epoch.as_millis())
        .map_err(|e| DataFusionError::Execution(format!("the clock is out of range: {e}")))
}

/// `PROCTIME()`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Proctime {
    signature: Signature,
}

impl Proctime {
    /// The function.
    pub fn new() -> Self {
        Proctime {
            signature: Signature::nullary(Volatility::Volatile),
        }
    }
}

impl Default for Proctime {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for Proctime {
    fn name(&self) -> &str {
        "proctime"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(TimeUnit::Millisecond, None))
    }

    fn return_field_from_args(&self, _: ReturnFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(
            self.name(),
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        )))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if !args.args.is_empty() {
            return exec_err!("PROCTIME takes no arguments, got {}", args.args.len());
        }
        Ok(ColumnarValue::Scalar(ScalarValue::TimestampMillisecond(
            Some(now_millis()?),
            None,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::args::invoke;

    #[test]
    fn the_time_of_the_call_as_a_millisecond_timestamp() {
        let before = now_millis().unwrap();
        let out = invoke(&Proctime::new(), vec![], 3).unwrap();
        let after = now_millis().unwrap();
        let ColumnarValue::Scalar(ScalarValue::TimestampMillisecond(Some(t), None)) = out else {
            panic!("{out:?}");
        };
        assert!(before <= t && t <= after, "{before} {t} {after}");
        assert_eq!(out.to_array(3).unwrap().len(), 3);
    }

    #[test]
    fn volatile_and_not_null() {
        let f = Proctime::new();
        assert_eq!(f.signature().volatility, Volatility::Volatile);
        let field = f
            .return_field_from_args(ReturnFieldArgs {
                arg_fields: &[],
                scalar_arguments: &[],
            })
            .unwrap();
        assert_eq!(field.data_type(), &DataType::Timestamp(TimeUnit::Millisecond, None));
        assert!(!field.is_nullable());
        assert!(invoke(&f, vec![ColumnarValue::Scalar(ScalarValue::Int64(Some(1)))], 1).is_err());
    }
}
