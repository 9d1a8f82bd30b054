//! Flink's `IF(condition, true_value, false_value)`: `true_value` where the
//! condition is true, else `false_value` (also where it is NULL). The optimizer
//! rewrites it to `CASE WHEN condition THEN true_value ELSE false_value END`, so
//! that only the chosen branch is evaluated; evaluated directly (an expression
//! that was not optimized), both branches are computed and zipped.

use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::compute::kernels::zip::zip;
use arrow::compute::prep_null_mask_filter;
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::type_coercion::binary::type_union_resolution;
use datafusion::logical_expr::{
    Case, ColumnarValue, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::args::{check_count, datum};

const NAME: &str = "IF";

/// `IF(condition, true_value, false_value)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct If {
    signature: Signature,
}

impl If {
    /// The function.
    pub fn new() -> Self {
        If {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for If {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for If {
    fn name(&self) -> &str {
        "if"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        check_count(NAME, types, 3, 3)?;
        if !matches!(types[0], DataType::Boolean | DataType::Null) {
            return plan_err!("{NAME}: the condition must be a boolean, not {}", types[0]);
        }
        let Some(value) = type_union_resolution(&types[1..]) else {
            return plan_err!("{NAME}: the values have no common type ({} and {})", types[1], types[2]);
        };
        Ok(vec![DataType::Boolean, value.clone(), value])
    }

    fn return_type(&self, types: &[DataType]) -> Result<DataType> {
        match types.get(1) {
            Some(t) => Ok(t.clone()),
            None => plan_err!("{NAME} takes 3 arguments, got {}", types.len()),
        }
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let [_, yes, no] = args.arg_fields else {
            return plan_err!("{NAME} takes 3 arguments, got {}", args.arg_fields.len());
        };
        // As nullable as the CASE expression it is rewritten to.
        Ok(Arc::new(Field::new(
            self.name(),
            yes.data_type().clone(),
            yes.is_nullable() || no.is_nullable(),
        )))
    }

    fn simplify(&self, args: Vec<Expr>, _: &SimplifyContext) -> Result<ExprSimplifyResult> {
        let Ok([condition, yes, no]) = <[Expr; 3]>::try_from(args) else {
            return plan_err!("{NAME} takes 3 arguments");
        };
        Ok(ExprSimplifyResult::Simplified(Expr::Case(Case::new(
            None,
            vec![(Box::new(condition), Box::new(yes))],
            Some(Box::new(no)),
        ))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [condition, yes, no] = args.args.as_slice() else {
            return exec_err!("{NAME} takes 3 arguments, got {}", args.args.len());
        };
        match condition {
            ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))) => Ok(yes.clone()),
            ColumnarValue::Scalar(_) => Ok(no.clone()),
            ColumnarValue::Array(mask) => {
                let Some(mask) = mask.as_boolean_opt() else {
                    return exec_err!("{NAME}: the condition is {}, not boolean", mask.data_type());
                };
                // NULL conditions choose the false value.
                let mask = if mask.null_count() > 0 {
                    prep_null_mask_filter(mask)
                } else {
                    mask.clone()
                };
                let out = zip(&mask, &*datum(yes)?, &*datum(no)?)?;
                Ok(ColumnarValue::Array(out))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::args::invoke;
    use arrow::array::{BooleanArray, Int64Array};
    use arrow::datatypes::Int64Type;
    use datafusion::logical_expr::{col, lit};

    fn ints(value: ColumnarValue) -> Vec<Option<i64>> {
        value.to_array(1).unwrap().as_primitive::<Int64Type>().iter().collect()
    }

    #[test]
    fn picks_per_row_and_null_conditions_are_false() {
        let f = If::new();
        let condition = ColumnarValue::Array(Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])));
        let yes = ColumnarValue::Array(Arc::new(Int64Array::from(vec![Some(1), Some(2), None])));
        let no = ColumnarValue::Scalar(ScalarValue::Int64(Some(-1)));
        assert_eq!(
            ints(invoke(&f, vec![condition, yes, no], 3).unwrap()),
            vec![Some(1), Some(-1), Some(-1)]
        );
        let constant = ColumnarValue::Scalar(ScalarValue::Boolean(None));
        let out = invoke(
            &f,
            vec![
                constant,
                ColumnarValue::Scalar(ScalarValue::Int64(Some(1))),
                ColumnarValue::Scalar(ScalarValue::Int64(Some(2))),
            ],
            3,
        )
        .unwrap();
        assert_eq!(ints(out), vec![Some(2)]);
    }

    #[test]
    fn coerces_the_values_to_a_common_type() {
        let f = If::new();
        assert_eq!(
            f.coerce_types(&[DataType::Boolean, DataType::Int32, DataType::Int64])
                .unwrap(),
            vec![DataType::Boolean, DataType::Int64, DataType::Int64]
        );
        let error = f
            .coerce_types(&[DataType::Int64, DataType::Int64, DataType::Int64])
            .unwrap_err()
            .to_string();
        assert!(error.contains("IF: the condition must be a boolean"), "{error}");
        assert!(f.coerce_types(&[DataType::Boolean, DataType::Int64]).is_err());
    }

    #[test]
    fn simplifies_to_case() {
        let f = If::new();
        let context = SimplifyContext::builder().build();
        let out = f.simplify(vec![col("c"), lit(1), lit(2)], &context).unwrap();
        let ExprSimplifyResult::Simplified(Expr::Case(case)) = out else {
            panic!("not a CASE");
        };
        assert_eq!(case.when_then_expr.len(), 1);
        assert_eq!(case.else_expr.as_deref(), Some(&lit(2)));
    }
}
