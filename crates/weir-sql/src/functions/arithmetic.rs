//! Flink's `MOD(a, b)`: the remainder of integer division, with the sign of `a`
//! (Java's `%`), as `BIGINT`. Division by zero fails the query, as in Flink.

use arrow::compute::kernels::numeric::rem;
use arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::args::{check_count, datum, integer_arg, result};

/// `MOD(a, b)` over integers.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Mod {
    signature: Signature,
}

impl Mod {
    /// The function.
    pub fn new() -> Self {
        Mod {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for Mod {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for Mod {
    fn name(&self) -> &str {
        "mod"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        check_count("MOD", types, 2, 2)?;
        Ok(vec![
            integer_arg("MOD", 1, &types[0])?,
            integer_arg("MOD", 2, &types[1])?,
        ])
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [a, b] = args.args.as_slice() else {
            return exec_err!("MOD takes 2 arguments, got {}", args.args.len());
        };
        let out = rem(&*datum(a)?, &*datum(b)?)?;
        result(&args.args, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::args::invoke;
    use arrow::array::{AsArray, Int64Array};
    use arrow::datatypes::Int64Type;
    use datafusion::common::ScalarValue;
    use std::sync::Arc;

    #[test]
    fn remainders_with_the_sign_of_the_dividend() {
        let a = ColumnarValue::Array(Arc::new(Int64Array::from(vec![Some(7), Some(-7), None, Some(246)])));
        let b = ColumnarValue::Scalar(ScalarValue::Int64(Some(3)));
        let out = invoke(&Mod::new(), vec![a, b], 4).unwrap().to_array(4).unwrap();
        let got: Vec<_> = out.as_primitive::<Int64Type>().iter().collect();
        assert_eq!(got, vec![Some(1), Some(-1), None, Some(0)]);
    }

    #[test]
    fn division_by_zero_and_non_integers_are_errors() {
        let a = ColumnarValue::Array(Arc::new(Int64Array::from(vec![1])));
        let zero = ColumnarValue::Scalar(ScalarValue::Int64(Some(0)));
        assert!(invoke(&Mod::new(), vec![a, zero], 1).is_err());
        let error = Mod::new()
            .coerce_types(&[DataType::Float64, DataType::Int32])
            .unwrap_err()
            .to_string();
        assert!(error.contains("MOD: argument 1 must be an integer"), "{error}");
    }
}
