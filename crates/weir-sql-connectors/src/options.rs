//! Connector option errors as SQL errors naming the table and the option.

use weir_connector_api::ConnectorError;
use weir_sql::error::SqlError;
use weir_sql::front::TableDef;

/// A [`SqlError::BadOption`] of `table`'s `option`.
pub(crate) fn bad(table: &TableDef, option: &str, message: impl Into<String>) -> SqlError {
    SqlError::BadOption {
        table: table.name.clone(),
        option: option.to_string(),
        message: message.into(),
    }
}

/// The connector's option error as the SQL error naming the option.
pub(crate) fn option_error(table: &TableDef, connector: &str, error: ConnectorError) -> SqlError {
    match error {
        ConnectorError::MissingOption { key, .. } => bad(table, &key, format!("required by the {connector} connector")),
        ConnectorError::InvalidOption { key, value, reason, .. } => {
            bad(table, &key, format!("invalid value '{value}': {reason}"))
        }
        ConnectorError::UnknownOptions { keys, known, .. } => bad(
            table,
            &keys.join(", "),
            format!("unknown option of the {connector} connector (known: {known:?})"),
        ),
        ConnectorError::NotRegistered {
            kind: "format",
            name,
            known,
        } => bad(
            table,
            "format",
            format!("unknown format '{name}' of the {connector} connector (known: {known:?})"),
        ),
        other => SqlError::Plan(format!("table '{}': {other}", table.name)),
    }
}
