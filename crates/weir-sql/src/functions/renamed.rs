//! A scalar function under another name: how `CREATE FUNCTION f AS 'registered'`
//! makes a registered Rust function callable as `f`.

use std::sync::Arc;

use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

/// `inner` called `name`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Renamed {
    name: String,
    inner: Arc<ScalarUDF>,
}

impl Renamed {
    /// `inner` as the function `name`.
    pub fn udf(name: impl Into<String>, inner: Arc<ScalarUDF>) -> ScalarUDF {
        ScalarUDF::new_from_impl(Renamed {
            name: name.into(),
            inner,
        })
    }
}

impl ScalarUDFImpl for Renamed {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(types)
    }

    fn return_type(&self, types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        self.inner.invoke_with_args(args)
    }
}
