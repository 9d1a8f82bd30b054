//! The `nexmark` source connector: Weir's Nexmark generator as the table of the
//! Flink Nexmark benchmark's DDL (`event_type INT`, `person ROW<...>`,
//! `auction ROW<...>`, `bid ROW<...>`), in batches of rows.
//!
//! The columns and struct fields are matched by name, so a table may declare any
//! subset of them in any order (types must be the generator's: BIGINT ids and
//! prices, VARCHAR strings, TIMESTAMP(3) times). Options (Flink's names): `events.num`
//! (0 or absent: endless), `first-event.rate`, `next-event.rate`,
//! `person.proportion`, `auction.proportion`, `bid.proportion`, and Weir's
//! `rate-limit` (events per second in total; absent: as fast as possible) and
//! `seed` (mixed into the generator's randomness; 0, the default, is Flink's data).
//!
//! Struct fields the query never reads ([`ReadFields`]) are left null rather than
//! copied out of the events, when they are nullable.

use crate::batch::RowBatch;
use crate::connector::{ReadFields, SqlSource};
use crate::error::SqlError;
use crate::front::TableDef;
use crate::source_batches::{to_batches, BatchBuilder, BATCH_ROWS};
use arrow::array::{
    ArrayRef, Int32Builder, Int64Builder, RecordBatch, StringBuilder, StructArray, TimestampMillisecondBuilder,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use std::sync::Arc;
use weir_core::BoxError;
use weir_datastream::{DataStream, StreamExecutionEnvironment};
use weir_nexmark::{Event, NexmarkConfig};
use weir_nexmark_queries::NexmarkSource;

/// The `nexmark` connector.
pub struct NexmarkConnector;

const OPTIONS: [&str; 9] = [
    "connector",
    "events.num",
    "first-event.rate",
    "next-event.rate",
    "person.proportion",
    "auction.proportion",
    "bid.proportion",
    "rate-limit",
    "seed",
];

fn bad(table: &TableDef, option: &str, message: impl Into<String>) -> SqlError {
    SqlError::BadOption {
        table: table.name.clone(),
        option: option.to_string(),
        message: message.into(),
    }
}

fn number<T: std::str::FromStr>(table: &TableDef, option: &str) -> Result<Option<T>, SqlError> {
    match table.options.get(option) {
        None => Ok(None),
        Some(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| bad(table, option, format!("'{text}' is not a valid number"))),
    }
}

/// The generator configuration of `table`'s options.
pub fn config(table: &TableDef) -> Result<(NexmarkConfig, Option<f64>), SqlError> {
    if let Some(unknown) = table.options.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
        return Err(bad(
            table,
            unknown,
            format!("unknown option of the nexmark connector (known: {OPTIONS:?})"),
        ));
    }
    let mut config = NexmarkConfig::default();
    if let Some(n) = number(table, "events.num")? {
        config.num_events = n;
    }
    if let Some(n) = number(table, "first-event.rate")? {
        config.first_event_rate = n;
    }
    if let Some(n) = number(table, "next-event.rate")? {
        config.next_event_rate = n;
    }
    if let Some(n) = number(table, "person.proportion")? {
        config.person_proportion = n;
    }
    if let Some(n) = number(table, "auction.proportion")? {
        config.auction_proportion = n;
    }
    if let Some(n) = number(table, "bid.proportion")? {
        config.bid_proportion = n;
    }
    if let Some(n) = number(table, "seed")? {
        config.seed = n;
    }
    let rate = number::<f64>(table, "rate-limit")?;
    config.validate().map_err(|e| bad(table, "events.num", e.to_string()))?;
    Ok((config, rate))
}

/// A value of one Nexmark field, as the generator has it.
enum Value<'a> {
    Long(i64),
    Time(i64),
    Text(&'a str),
}

/// The fields of each event kind, in the order of Flink's DDL; a field is read by
/// its index here (resolved once, when the source is planned).
const PERSON_FIELDS: [&str; 8] = [
    "id",
    "name",
    "emailAddress",
    "creditCard",
    "city",
    "state",
    "dateTime",
    "extra",
];
const AUCTION_FIELDS: [&str; 10] = [
    "id",
    "itemName",
    "description",
    "initialBid",
    "reserve",
    "dateTime",
    "expires",
    "seller",
    "category",
    "extra",
];
const BID_FIELDS: [&str; 7] = ["auction", "bidder", "price", "channel", "url", "dateTime", "extra"];

fn person_field(p: &weir_nexmark::Person, index: usize) -> Option<Value<'_>> {
    Some(match index {
        0 => Value::Long(p.id),
        1 => Value::Text(&p.name),
        2 => Value::Text(&p.email_address),
        3 => Value::Text(&p.credit_card),
        4 => Value::Text(&p.city),
        5 => Value::Text(&p.state),
        6 => Value::Time(p.date_time),
        7 => Value::Text(&p.extra),
        _ => return None,
    })
}

fn auction_field(a: &weir_nexmark::Auction, index: usize) -> Option<Value<'_>> {
    Some(match index {
        0 => Value::Long(a.id),
        1 => Value::Text(&a.item_name),
        2 => Value::Text(&a.description),
        3 => Value::Long(a.initial_bid),
        4 => Value::Long(a.reserve),
        5 => Value::Time(a.date_time),
        6 => Value::Time(a.expires),
        7 => Value::Long(a.seller),
        8 => Value::Long(a.category),
        9 => Value::Text(&a.extra),
        _ => return None,
    })
}

fn bid_field(b: &weir_nexmark::Bid, index: usize) -> Option<Value<'_>> {
    Some(match index {
        0 => Value::Long(b.auction),
        1 => Value::Long(b.bidder),
        2 => Value::Long(b.price),
        3 => Value::Text(&b.channel),
        4 => Value::Text(&b.url),
        5 => Value::Time(b.date_time),
        6 => Value::Text(&b.extra),
        _ => return None,
    })
}

/// Which event a struct column holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Person,
    Auction,
    Bid,
}

impl Part {
    fn of(name: &str) -> Option<Part> {
        match name {
            "person" => Some(Part::Person),
            "auction" => Some(Part::Auction),
            "bid" => Some(Part::Bid),
            _ => None,
        }
    }

    fn index(self, name: &str) -> Option<usize> {
        let names: &[&str] = match self {
            Part::Person => &PERSON_FIELDS,
            Part::Auction => &AUCTION_FIELDS,
            Part::Bid => &BID_FIELDS,
        };
        names.iter().position(|n| *n == name)
    }

    /// The field at `index` of `event`, when `event` is of this kind.
    fn field(self, event: &Event, index: usize) -> Option<Value<'_>> {
        match (self, event) {
            (Part::Person, Event::Person(p)) => person_field(p, index),
            (Part::Auction, Event::Auction(a)) => auction_field(a, index),
            (Part::Bid, Event::Bid(b)) => bid_field(b, index),
            _ => None,
        }
    }

    fn sample(self) -> Event {
        match self {
            Part::Person => Event::Person(weir_nexmark::Person {
                id: 0,
                name: String::new(),
                email_address: String::new(),
                credit_card: String::new(),
                city: String::new(),
                state: String::new(),
                date_time: 0,
                extra: String::new(),
            }),
            Part::Auction => Event::Auction(weir_nexmark::Auction {
                id: 0,
                item_name: String::new(),
                description: String::new(),
                initial_bid: 0,
                reserve: 0,
                date_time: 0,
                expires: 0,
                seller: 0,
                category: 0,
                extra: String::new(),
            }),
            Part::Bid => Event::Bid(weir_nexmark::Bid {
                auction: 0,
                bidder: 0,
                price: 0,
                channel: String::new(),
                url: String::new(),
                date_time: 0,
                extra: String::new(),
            }),
        }
    }
}

/// How one field of a struct column is filled.
#[derive(Clone)]
enum Fill {
    /// From the event's field at this index.
    Read(usize),
    /// Never read by the query: nulls (sliced from this array of `BATCH_ROWS`).
    Null(ArrayRef),
}

/// How one output column is filled.
#[derive(Clone)]
enum Column {
    EventType,
    Struct(Part, Fields, Vec<Fill>),
}

fn check_type(table: &TableDef, column: &str, field: &Field, value: &Value<'_>) -> Result<(), SqlError> {
    let ok = match value {
        Value::Long(_) => field.data_type() == &DataType::Int64,
        Value::Time(_) => matches!(field.data_type(), DataType::Timestamp(TimeUnit::Millisecond, _)),
        Value::Text(_) => field.data_type() == &DataType::Utf8,
    };
    if ok {
        Ok(())
    } else {
        let expected = match value {
            Value::Long(_) => "BIGINT",
            Value::Time(_) => "TIMESTAMP(3)",
            Value::Text(_) => "VARCHAR",
        };
        Err(SqlError::Plan(format!(
            "table '{}': nexmark column {column}.{} must be {expected}, not {}",
            table.name,
            field.name(),
            field.data_type()
        )))
    }
}

/// The columns to produce for `schema` (the projected physical columns), leaving
/// the nullable struct fields the query does not read null.
fn columns(table: &TableDef, schema: &Schema, reads: &ReadFields) -> Result<Vec<Column>, SqlError> {
    schema
        .fields()
        .iter()
        .map(|field| {
            if field.name() == "event_type" {
                return match field.data_type() {
                    DataType::Int32 => Ok(Column::EventType),
                    other => Err(SqlError::Plan(format!(
                        "table '{}': nexmark column event_type must be INT, not {other}",
                        table.name
                    ))),
                };
            }
            let (Some(part), DataType::Struct(fields)) = (Part::of(field.name()), field.data_type()) else {
                return Err(SqlError::Plan(format!(
                    "table '{}': the nexmark connector has no column '{}' of type {} (it has event_type INT, person ROW<...>, auction ROW<...>, bid ROW<...>)",
                    table.name,
                    field.name(),
                    field.data_type()
                )));
            };
            let sample = part.sample();
            let mut fills = Vec::with_capacity(fields.len());
            for inner in fields.iter() {
                let value = part.index(inner.name()).and_then(|i| Some((i, part.field(&sample, i)?)));
                let Some((index, value)) = value else {
                    return Err(SqlError::Plan(format!(
                        "table '{}': the nexmark {} has no field '{}'",
                        table.name,
                        field.name(),
                        inner.name()
                    )));
                };
                check_type(table, field.name(), inner, &value)?;
                fills.push(if inner.is_nullable() && !reads.reads(field.name(), inner.name()) {
                    Fill::Null(arrow::array::new_null_array(inner.data_type(), BATCH_ROWS))
                } else {
                    Fill::Read(index)
                });
            }
            Ok(Column::Struct(part, fields.clone(), fills))
        })
        .collect()
}

/// Collects events into batches of the table's columns.
struct EventBatches {
    schema: SchemaRef,
    columns: Vec<Column>,
    events: Vec<Event>,
}

impl BatchBuilder<Event> for EventBatches {
    fn push(&mut self, event: Event) {
        self.events.push(event);
    }

    fn len(&self) -> usize {
        self.events.len()
    }

    fn take_batch(&mut self) -> Result<Option<RecordBatch>, BoxError> {
        if self.events.is_empty() {
            return Ok(None);
        }
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter()
            .map(|column| build_column(column, &self.events))
            .collect::<Result<_, _>>()?;
        let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(self.events.len()));
        // Cleared, not replaced: the next batch reuses the allocation.
        self.events.clear();
        Ok(Some(RecordBatch::try_new_with_options(
            self.schema.clone(),
            arrays,
            &options,
        )?))
    }
}

fn build_column(column: &Column, events: &[Event]) -> Result<ArrayRef, arrow::error::ArrowError> {
    match column {
        Column::EventType => {
            let mut builder = Int32Builder::with_capacity(events.len());
            for event in events {
                builder.append_value(event.event_type().value());
            }
            Ok(Arc::new(builder.finish()))
        }
        Column::Struct(part, fields, fills) => {
            let valid: Vec<bool> = events.iter().map(|e| matches_part(*part, e)).collect();
            let children: Vec<ArrayRef> = fields
                .iter()
                .zip(fills)
                .map(|(field, fill)| match fill {
                    Fill::Read(index) => build_field(*part, *index, field, events),
                    Fill::Null(nulls) if nulls.len() >= events.len() => nulls.slice(0, events.len()),
                    Fill::Null(_) => arrow::array::new_null_array(field.data_type(), events.len()),
                })
                .collect();
            Ok(Arc::new(StructArray::try_new(
                fields.clone(),
                children,
                Some(NullBuffer::from(valid)),
            )?))
        }
    }
}

fn matches_part(part: Part, event: &Event) -> bool {
    matches!(
        (part, event),
        (Part::Person, Event::Person(_)) | (Part::Auction, Event::Auction(_)) | (Part::Bid, Event::Bid(_))
    )
}

fn build_field(part: Part, index: usize, field: &Field, events: &[Event]) -> ArrayRef {
    match field.data_type() {
        DataType::Int64 => {
            let mut builder = Int64Builder::with_capacity(events.len());
            for event in events {
                match part.field(event, index) {
                    Some(Value::Long(v)) => builder.append_value(v),
                    _ => builder.append_null(),
                }
            }
            Arc::new(builder.finish())
        }
        DataType::Timestamp(TimeUnit::Millisecond, zone) => {
            let mut builder = TimestampMillisecondBuilder::with_capacity(events.len()).with_timezone_opt(zone.clone());
            for event in events {
                match part.field(event, index) {
                    Some(Value::Time(v)) => builder.append_value(v),
                    _ => builder.append_null(),
                }
            }
            Arc::new(builder.finish())
        }
        _ => {
            let bytes = events
                .iter()
                .map(|event| match part.field(event, index) {
                    Some(Value::Text(v)) => v.len(),
                    _ => 0,
                })
                .sum();
            let mut builder = StringBuilder::with_capacity(events.len(), bytes);
            for event in events {
                match part.field(event, index) {
                    Some(Value::Text(v)) => builder.append_value(v),
                    _ => builder.append_null(),
                }
            }
            Arc::new(builder.finish())
        }
    }
}

impl SqlSource for NexmarkConnector {
    fn name(&self) -> &'static str {
        "nexmark"
    }

    fn create_source(
        &self,
        env: &StreamExecutionEnvironment,
        table: &TableDef,
        projection: Option<&[usize]>,
    ) -> Result<DataStream<RowBatch>, SqlError> {
        self.create_pruned_source(env, table, projection, &ReadFields::all())
    }

    fn create_pruned_source(
        &self,
        env: &StreamExecutionEnvironment,
        table: &TableDef,
        projection: Option<&[usize]>,
        reads: &ReadFields,
    ) -> Result<DataStream<RowBatch>, SqlError> {
        let (config, rate) = config(table)?;
        let schema = match projection {
            Some(indexes) => Arc::new(table.schema.project(indexes)?),
            None => table.schema.clone(),
        };
        let columns = columns(table, &schema, reads)?;
        let mut source = NexmarkSource::new(config).map_err(|e| bad(table, "events.num", e.to_string()))?;
        if let Some(rate) = rate {
            source = source.with_rate_limit(rate);
        }
        let source_uid = crate::connector::unique_uid(env, &format!("source/{}", table.name));
        let batches_uid = source_uid.replacen("source/", "batches/", 1);
        let stream = env
            .add_source(source)
            .name(&format!("nexmark source '{}'", table.name))
            .uid(&source_uid);
        Ok(
            to_batches(&stream, &format!("nexmark batches '{}'", table.name), move |_| {
                Ok(EventBatches {
                    schema: schema.clone(),
                    columns: columns.clone(),
                    events: Vec::with_capacity(BATCH_ROWS),
                })
            })
            .uid(&batches_uid),
        )
    }
}
