//! Rust table functions (Flink's `LATERAL TABLE`): a table function is a DataFusion
//! `ScalarUDF` that returns, for each input row, the list of rows it produces
//! (`List<Struct<c1, ...>>`, or a list of plain values for one column). See
//! [`Catalog::register_table_function`](crate::front::Catalog::register_table_function)
//! and `plan/lateral.rs` for how queries call them.

use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::logical_expr::{ScalarUDF, TypeSignature};

use crate::error::SqlError;

/// The name of the single column of a table function whose rows are plain values
/// (as Flink names it).
pub const SINGLE_COLUMN: &str = "f0";

/// The argument types of `udf`'s signature when it names them exactly (an exact,
/// uniform-of-one-type or argument-less signature), for checking its return type
/// when it is registered.
pub fn exact_argument_types(udf: &ScalarUDF) -> Option<Vec<DataType>> {
    match &udf.signature().type_signature {
        TypeSignature::Exact(types) => Some(types.clone()),
        TypeSignature::Uniform(n, types) if types.len() == 1 => Some(vec![types[0].clone(); *n]),
        TypeSignature::Nullary => Some(Vec::new()),
        _ => None,
    }
}

/// The columns of the rows a table function named `name` returning `returned`
/// produces: the fields of a list of structs, or one column [`SINGLE_COLUMN`] for a
/// list of other values. Any other type is an error naming the function.
pub fn row_fields(name: &str, returned: &DataType) -> Result<Vec<FieldRef>, SqlError> {
    let element = match returned {
        DataType::List(element) | DataType::LargeList(element) | DataType::FixedSizeList(element, _) => element,
        other => {
            return Err(SqlError::Plan(format!(
                "table function '{name}' returns {other}, not a list of rows \
                 (a table function returns List<Struct<...>>, one element per row it produces)"
            )))
        }
    };
    Ok(match element.data_type() {
        DataType::Struct(fields) => fields.iter().cloned().collect(),
        other => vec![std::sync::Arc::new(Field::new(SINGLE_COLUMN, other.clone(), true))],
    })
}
