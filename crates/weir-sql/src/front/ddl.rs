//! Flink's `CREATE TABLE`, which sqlparser cannot parse (watermarks, `NOT ENFORCED`
//! keys, Flink types, `WITH ('k' = 'v')` options):
//!
//! ```sql
//! CREATE [TEMPORARY] TABLE [IF NOT EXISTS] name (
//!     col TYPE [NOT NULL] [PRIMARY KEY NOT ENFORCED] [COMMENT '...'],
//!     col TYPE METADATA [FROM 'key'] [VIRTUAL],
//!     col AS expr [COMMENT '...'],
//!     WATERMARK FOR col AS expr,
//!     [CONSTRAINT name] PRIMARY KEY (a, b) NOT ENFORCED
//! ) [COMMENT '...'] [PARTITIONED BY (a, b)] [WITH ('k' = 'v', ...)]
//! ```
//!
//! Expressions are parsed by sqlparser; the column list is checked here (unique names,
//! the watermark on an existing column of timestamp type, key columns physical).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema};
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::error::{Position, SqlError};
use crate::front::parser::FrontParser;
use crate::front::statement::CreateTable;
use crate::front::table::{ComputedColumn, MetadataColumn, TableDef, WatermarkSpec};
use crate::front::types::{flink_type_name, is_time_attribute_type};

/// Columns while the column list is parsed.
#[derive(Default)]
struct Columns {
    /// Every declared column name with its token, in order.
    names: Vec<(String, TokenWithSpan)>,
    physical: Vec<Field>,
    computed: Vec<ComputedColumn>,
    metadata: Vec<MetadataColumn>,
    watermark: Option<(WatermarkSpec, TokenWithSpan)>,
    primary_key: Option<(Vec<(String, TokenWithSpan)>, TokenWithSpan)>,
    comments: BTreeMap<String, String>,
}

impl FrontParser<'_> {
    /// After `CREATE [TEMPORARY] TABLE`.
    pub(crate) fn create_table(&mut self, temporary: bool) -> Result<CreateTable, SqlError> {
        let if_not_exists = self.eat_words(&["IF", "NOT", "EXISTS"]);
        let (name, _) = self.object_name("a table name")?;
        if self.peek_word("LIKE") || self.peek_word("AS") || self.peek_word("WITH") {
            let t = self.peek().clone();
            let feature = if self.peek_word("LIKE") {
                "CREATE TABLE ... LIKE"
            } else if self.peek_word("AS") {
                "CREATE TABLE ... AS SELECT"
            } else {
                "CREATE TABLE without a column list"
            };
            return Err(SqlError::unsupported(feature, Position::from_location(t.span.start)));
        }
        self.expect(&Token::LParen, "'('")?;
        let mut columns = Columns::default();
        loop {
            self.table_element(&mut columns)?;
            if !self.eat(&Token::Comma) {
                break;
            }
        }
        self.expect(&Token::RParen, "',' or ')'")?;
        let comment = if self.eat_word("COMMENT") {
            Some(self.string_literal("a comment string")?)
        } else {
            None
        };
        let mut partitioned_by = Vec::new();
        if self.eat_words(&["PARTITIONED", "BY"]) {
            self.expect(&Token::LParen, "'('")?;
            loop {
                let (column, token) = self.ident("a column name")?;
                if !columns.names.iter().any(|(n, _)| *n == column) {
                    return Err(self
                        .src
                        .error_at(&token, format!("unknown partition column '{column}'")));
                }
                partitioned_by.push(column);
                if !self.eat(&Token::Comma) {
                    break;
                }
            }
            self.expect(&Token::RParen, "')'")?;
        }
        let options = if self.eat_word("WITH") {
            self.with_options()?
        } else {
            BTreeMap::new()
        };
        if self.peek_word("LIKE") || self.peek_word("AS") {
            let t = self.peek().clone();
            let feature = if self.peek_word("LIKE") {
                "CREATE TABLE ... LIKE"
            } else {
                "CREATE TABLE ... AS SELECT"
            };
            return Err(SqlError::unsupported(feature, Position::from_location(t.span.start)));
        }
        let table = self.finish_table(name, temporary, columns, partitioned_by, options, comment)?;
        Ok(CreateTable { table, if_not_exists })
    }

    fn table_element(&mut self, columns: &mut Columns) -> Result<(), SqlError> {
        let first = self.peek().clone();
        if self.peek_word("WATERMARK") && self.nth_is_word(1, "FOR") {
            self.next();
            self.next();
            let (column, column_token) = self.ident("the event-time column")?;
            self.expect_word("AS")?;
            let (expr, text) = self.expr_with_text()?;
            if columns.watermark.is_some() {
                return Err(self.src.error_at(&first, "a table can declare only one WATERMARK"));
            }
            columns.watermark = Some((WatermarkSpec { column, expr, text }, column_token));
            return Ok(());
        }
        if (self.peek_word("PRIMARY") && self.nth_is_word(1, "KEY")) || self.peek_word("CONSTRAINT") {
            if self.eat_word("CONSTRAINT") {
                self.ident("a constraint name")?;
            }
            self.expect_word("PRIMARY")?;
            self.expect_word("KEY")?;
            self.expect(&Token::LParen, "'('")?;
            let mut keys = Vec::new();
            loop {
                keys.push(self.ident("a column name")?);
                if !self.eat(&Token::Comma) {
                    break;
                }
            }
            self.expect(&Token::RParen, "')'")?;
            self.not_enforced(&first)?;
            return self.set_primary_key(columns, keys, first);
        }
        if self.peek_word("UNIQUE") || self.peek_word("FOREIGN") || self.peek_word("CHECK") {
            return Err(SqlError::unsupported(
                format!("{} constraint", self.src.span_text(first.span).to_ascii_uppercase()),
                Position::from_location(first.span.start),
            ));
        }

        let (name, name_token) = self.ident("a column name, WATERMARK or PRIMARY KEY")?;
        if columns.names.iter().any(|(n, _)| *n == name) {
            return Err(self.src.error_at(&name_token, format!("duplicate column '{name}'")));
        }
        let position = columns.names.len();
        columns.names.push((name.clone(), name_token.clone()));
        if self.eat_word("AS") {
            let (expr, text) = self.expr_with_text()?;
            columns.computed.push(ComputedColumn {
                name: name.clone(),
                position,
                expr,
                text,
            });
            self.column_comment(columns, &name)?;
            return Ok(());
        }
        let (data_type, nullable) = self.data_type(0)?;
        if self.eat_word("METADATA") {
            let key = if self.eat_word("FROM") {
                self.string_literal("a metadata key string")?
            } else {
                name.clone()
            };
            let is_virtual = self.eat_word("VIRTUAL");
            columns.metadata.push(MetadataColumn {
                name: name.clone(),
                position,
                data_type,
                nullable,
                key,
                is_virtual,
            });
            self.column_comment(columns, &name)?;
            return Ok(());
        }
        columns.physical.push(Field::new(name.clone(), data_type, nullable));
        if self.peek_word("PRIMARY") {
            let pk_token = self.peek().clone();
            self.expect_word("PRIMARY")?;
            self.expect_word("KEY")?;
            self.not_enforced(&pk_token)?;
            self.set_primary_key(columns, vec![(name.clone(), name_token)], pk_token)?;
        }
        self.column_comment(columns, &name)?;
        Ok(())
    }

    fn column_comment(&mut self, columns: &mut Columns, name: &str) -> Result<(), SqlError> {
        if self.eat_word("COMMENT") {
            let comment = self.string_literal("a comment string")?;
            columns.comments.insert(name.to_string(), comment);
        }
        Ok(())
    }

    /// Flink requires `NOT ENFORCED` on primary keys (it cannot check them).
    fn not_enforced(&mut self, key_token: &TokenWithSpan) -> Result<(), SqlError> {
        if self.eat_words(&["NOT", "ENFORCED"]) {
            Ok(())
        } else {
            Err(SqlError::unsupported(
                "ENFORCED primary key (declare it PRIMARY KEY (...) NOT ENFORCED)",
                Position::from_location(key_token.span.start),
            ))
        }
    }

    fn set_primary_key(
        &self,
        columns: &mut Columns,
        keys: Vec<(String, TokenWithSpan)>,
        token: TokenWithSpan,
    ) -> Result<(), SqlError> {
        if columns.primary_key.is_some() {
            return Err(self.src.error_at(&token, "a table can declare only one PRIMARY KEY"));
        }
        columns.primary_key = Some((keys, token));
        Ok(())
    }

    /// Checks the column list and builds the table.
    fn finish_table(
        &self,
        name: String,
        temporary: bool,
        columns: Columns,
        partitioned_by: Vec<String>,
        options: BTreeMap<String, String>,
        comment: Option<String>,
    ) -> Result<TableDef, SqlError> {
        let Columns {
            names,
            mut physical,
            computed,
            metadata,
            watermark,
            primary_key,
            comments,
        } = columns;
        let mut key_names = Vec::new();
        if let Some((keys, _)) = primary_key {
            for (key, token) in keys {
                if key_names.contains(&key) {
                    return Err(self
                        .src
                        .error_at(&token, format!("duplicate primary key column '{key}'")));
                }
                let Some(field) = physical.iter_mut().find(|f| f.name() == &key) else {
                    let message = if names.iter().any(|(n, _)| *n == key) {
                        format!("primary key column '{key}' must be a physical column")
                    } else {
                        format!("unknown primary key column '{key}'")
                    };
                    return Err(self.src.error_at(&token, message));
                };
                // Key columns are implicitly NOT NULL.
                *field = field.clone().with_nullable(false);
                key_names.push(key);
            }
        }
        let watermark = match watermark {
            None => None,
            Some((spec, token)) => {
                if !names.iter().any(|(n, _)| *n == spec.column) {
                    return Err(self
                        .src
                        .error_at(&token, format!("unknown watermark column '{}'", spec.column)));
                }
                let declared_type = physical
                    .iter()
                    .find(|f| f.name() == &spec.column)
                    .map(|f| f.data_type().clone())
                    .or_else(|| {
                        metadata
                            .iter()
                            .find(|m| m.name == spec.column)
                            .map(|m| m.data_type.clone())
                    });
                if let Some(data_type) = declared_type {
                    if !is_time_attribute_type(&data_type) {
                        return Err(self.src.error_at(
                            &token,
                            format!(
                                "watermark column '{}' must be TIMESTAMP(3) or TIMESTAMP_LTZ(3), not {}",
                                spec.column,
                                flink_type_name(&data_type, true)
                            ),
                        ));
                    }
                }
                Some(spec)
            }
        };
        Ok(TableDef {
            name,
            temporary,
            schema: Arc::new(Schema::new(physical)),
            computed,
            metadata,
            watermark,
            primary_key: key_names,
            partitioned_by,
            options,
            comment,
            column_comments: comments,
        })
    }

    /// `('key' = 'value', ...)` after `WITH`.
    pub(crate) fn with_options(&mut self) -> Result<BTreeMap<String, String>, SqlError> {
        self.expect(&Token::LParen, "'(' after WITH")?;
        let mut options = BTreeMap::new();
        if self.eat(&Token::RParen) {
            return Ok(options);
        }
        loop {
            let key_token = self.peek().clone();
            let key = self.string_literal("a quoted option key, e.g. 'connector'")?;
            self.expect(&Token::Eq, "'='")?;
            let value_token = self.next();
            let value = match &value_token.token {
                Token::SingleQuotedString(s) => s.clone(),
                Token::Number(n, _) => n.clone(),
                Token::Word(w)
                    if w.quote_style.is_none()
                        && (w.value.eq_ignore_ascii_case("true") || w.value.eq_ignore_ascii_case("false")) =>
                {
                    w.value.to_ascii_lowercase()
                }
                _ => return Err(self.src.expected("a quoted option value", &value_token)),
            };
            if options.insert(key.clone(), value).is_some() {
                return Err(self.src.error_at(&key_token, format!("duplicate option '{key}'")));
            }
            if !self.eat(&Token::Comma) {
                break;
            }
        }
        self.expect(&Token::RParen, "',' or ')'")?;
        Ok(options)
    }
}
