//! [`Schema`] ↔ Arrow schema (feature `arrow`), without loss in either direction for
//! the types a [`Schema`] names.

use std::sync::Arc;

use arrow_schema::{DataType as ArrowType, Field as ArrowField, Fields, Schema as ArrowSchema, TimeUnit};

use super::{DataType, Field, Schema, SchemaError};

impl Schema {
    /// The Arrow schema of this schema.
    pub fn to_arrow(&self) -> ArrowSchema {
        ArrowSchema::new(to_arrow_fields(&self.fields))
    }

    /// The schema of an Arrow schema, if every type has a name here.
    pub fn from_arrow(schema: &ArrowSchema) -> Result<Schema, SchemaError> {
        Ok(Schema {
            fields: from_arrow_fields(schema.fields())?,
        })
    }
}

impl DataType {
    /// The Arrow type of this type.
    pub fn to_arrow(&self) -> ArrowType {
        match self {
            DataType::Boolean => ArrowType::Boolean,
            DataType::Bigint => ArrowType::Int64,
            DataType::Double => ArrowType::Float64,
            DataType::String => ArrowType::Utf8,
            DataType::Timestamp => ArrowType::Timestamp(TimeUnit::Millisecond, None),
            DataType::Array(element) => ArrowType::List(Arc::new(ArrowField::new("item", element.to_arrow(), true))),
            DataType::Row(fields) => ArrowType::Struct(to_arrow_fields(fields)),
        }
    }
}

fn to_arrow_fields(fields: &[Field]) -> Fields {
    fields
        .iter()
        .map(|f| ArrowField::new(&f.name, f.data_type.to_arrow(), f.nullable))
        .collect()
}

fn from_arrow_fields(fields: &Fields) -> Result<Vec<Field>, SchemaError> {
    fields
        .iter()
        .map(|f| {
            Ok(Field {
                name: f.name().clone(),
                data_type: from_arrow_type(f.name(), f.data_type())?,
                nullable: f.is_nullable(),
            })
        })
        .collect()
}

fn from_arrow_type(name: &str, data_type: &ArrowType) -> Result<DataType, SchemaError> {
    Ok(match data_type {
        ArrowType::Boolean => DataType::Boolean,
        ArrowType::Int64 => DataType::Bigint,
        ArrowType::Float64 => DataType::Double,
        ArrowType::Utf8 => DataType::String,
        ArrowType::Timestamp(TimeUnit::Millisecond, None) => DataType::Timestamp,
        ArrowType::List(element) if element.is_nullable() => {
            DataType::Array(Box::new(from_arrow_type(name, element.data_type())?))
        }
        ArrowType::Struct(fields) => DataType::Row(from_arrow_fields(fields)?),
        other => {
            return Err(SchemaError::Unsupported {
                field: name.to_string(),
                data_type: other.to_string(),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_arrow() {
        let text = r#"{"fields":[{"name":"id","type":"BIGINT","nullable":false},{"name":"r","type":{"ROW":[{"name":"t","type":"TIMESTAMP(3)"},{"name":"l","type":{"ARRAY":{"ARRAY":"BOOLEAN"}},"nullable":false}]}},{"name":"s","type":"STRING"},{"name":"d","type":"DOUBLE"}]}"#;
        let schema = Schema::parse(text).unwrap();
        let arrow = schema.to_arrow();
        assert_eq!(arrow.field(0).data_type(), &ArrowType::Int64);
        assert!(!arrow.field(0).is_nullable());
        assert_eq!(Schema::from_arrow(&arrow).unwrap(), schema);
        assert_eq!(Schema::from_arrow(&arrow).unwrap().to_json(), schema.to_json());
    }

    #[test]
    fn unsupported_arrow_types_name_the_field() {
        let arrow = ArrowSchema::new(vec![ArrowField::new("small", ArrowType::Int16, true)]);
        let err = Schema::from_arrow(&arrow).unwrap_err();
        assert!(err.to_string().contains("`small`"), "{err}");
    }
}
