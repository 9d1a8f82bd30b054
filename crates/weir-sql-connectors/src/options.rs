//! Connector option errors as SQL errors naming the table and the option, and
//! the options of Flink's JSON formats.

use crate::flink_json::TimestampStandard;
use weir_connector_api::options::Options;
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

/// Options of a JSON format (`json.*`, `debezium-json.*`, `key.json.*`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct JsonSettings {
    /// `timestamp-format.standard`.
    pub timestamps: TimestampStandard,
    /// `ignore-parse-errors`.
    pub ignore_parse_errors: bool,
    /// `fail-on-missing-field` (`json` only).
    pub fail_on_missing_field: bool,
}

/// The options of the JSON format `format` (`json` or `debezium-json`) of
/// `table`, their keys starting with `prefix` (`json.`, `key.json.`).
pub(crate) fn json_settings(
    table: &TableDef,
    connector: &str,
    options: &Options,
    prefix: &str,
    format: &str,
) -> Result<JsonSettings, SqlError> {
    let error = |e| option_error(table, connector, e);
    let key = format!("{prefix}timestamp-format.standard");
    let standard = options.one_of(&key, &TimestampStandard::NAMES, "SQL").map_err(error)?;
    let ignore_parse_errors = options
        .parse(&format!("{prefix}ignore-parse-errors"), false)
        .map_err(error)?;
    let mut fail_on_missing_field = false;
    if format == "json" {
        let key = format!("{prefix}fail-on-missing-field");
        fail_on_missing_field = options.parse(&key, false).map_err(error)?;
        if fail_on_missing_field && ignore_parse_errors {
            return Err(bad(
                table,
                &key,
                format!("cannot be 'true' together with '{prefix}ignore-parse-errors'"),
            ));
        }
    } else {
        let key = format!("{prefix}schema-include");
        if options.parse(&key, false).map_err(error)? {
            return Err(bad(
                table,
                &key,
                "not supported: messages without the Debezium schema only",
            ));
        }
    }
    Ok(JsonSettings {
        timestamps: TimestampStandard::from_name(standard).unwrap_or_default(),
        ignore_parse_errors,
        fail_on_missing_field,
    })
}
