//! A scalar or aggregate function under another name: how `CREATE FUNCTION f AS
//! 'registered'` makes a registered Rust function callable as `f`.

use std::sync::Arc;

use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature,
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

/// An aggregate function under another name: `CREATE FUNCTION f AS 'registered'`
/// for a registered Rust aggregate function.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RenamedAggregate {
    name: String,
    inner: Arc<AggregateUDF>,
}

impl RenamedAggregate {
    /// `inner` as the aggregate function `name`.
    pub fn udaf(name: impl Into<String>, inner: Arc<AggregateUDF>) -> AggregateUDF {
        AggregateUDF::new_from_impl(RenamedAggregate {
            name: name.into(),
            inner,
        })
    }
}

impl AggregateUDFImpl for RenamedAggregate {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(types)
    }

    fn return_field(&self, fields: &[FieldRef]) -> Result<FieldRef> {
        self.inner.return_field(fields)
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(types)
    }

    fn is_nullable(&self) -> bool {
        self.inner.is_nullable()
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.inner.accumulator(args)
    }

    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.inner.create_sliding_accumulator(args)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.inner.state_fields(args)
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        self.inner.default_value(data_type)
    }
}
