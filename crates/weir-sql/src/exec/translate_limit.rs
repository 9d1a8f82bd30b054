//! `ORDER BY ... LIMIT n [OFFSET m]` and `LIMIT n` over an unbounded input, as in
//! Flink: a global Top-N ([`TopN`] without partition key and rank column) that
//! keeps the first `m + n` rows in order and emits the changes to the `n` shown
//! (`+I` a row entering them, `-D` one pushed out). Without `ORDER BY` the first
//! rows to arrive stay: the result only inserts. `ORDER BY` without `LIMIT` must
//! start with an ascending event-time column (Flink's temporal sort).

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::logical_expr::expr::Sort as SortExpr;
use datafusion::logical_expr::{ExprSchemable, FetchType, Limit, LogicalPlan, SkipType, Sort};
use weir_datastream::custom::{keyed_store, Timers};

use crate::connector::ChangelogMode;
use crate::error::SqlError;
use crate::exec::eval::physical;
use crate::exec::keys::GroupKeys;
use crate::exec::output;
use crate::exec::over_aggregate::{Frame, OverAggregate, OverSpec};
use crate::exec::top_n::{SortKey, TopN, TopNSpec};
use crate::exec::{SqlStream, Translator};

fn unsupported(feature: impl Into<String>) -> SqlError {
    SqlError::Unsupported {
        feature: feature.into(),
        position: None,
    }
}

impl Translator<'_> {
    /// `LIMIT` (with `OFFSET`), over a sort or over rows in arrival order.
    pub(crate) fn limit(&self, limit: &Limit) -> Result<SqlStream, SqlError> {
        let skip = match limit.get_skip_type()? {
            SkipType::Literal(skip) => skip,
            SkipType::UnsupportedExpr => return Err(unsupported("an OFFSET that is not a constant")),
        };
        let fetch = match limit.get_fetch_type()? {
            FetchType::Literal(Some(fetch)) => fetch,
            FetchType::Literal(None) => {
                return Err(unsupported(
                    "OFFSET without LIMIT in streaming SQL (every later row would have to be kept)",
                ))
            }
            FetchType::UnsupportedExpr => return Err(unsupported("a LIMIT that is not a constant")),
        };
        match limit.input.as_ref() {
            LogicalPlan::Sort(sort) => self.top_n(&sort.input, &sort.expr, skip, fetch),
            input => self.top_n(input, &[], skip, fetch),
        }
    }

    /// `ORDER BY`: with a `LIMIT` the optimizer folded into it, a Top-N; without,
    /// a temporal sort.
    pub(crate) fn sort(&self, sort: &Sort) -> Result<SqlStream, SqlError> {
        match sort.fetch {
            Some(fetch) => self.top_n(&sort.input, &sort.expr, 0, fetch),
            None => self.temporal_sort(sort),
        }
    }

    /// `ORDER BY t [, more keys]` without `LIMIT`, `t` an ascending event-time
    /// column: as in Flink, rows wait in state until the watermark passes their
    /// time and then leave in order (one subtask; late rows are dropped). It is
    /// an OVER aggregate without aggregates ([`OverAggregate`]).
    fn temporal_sort(&self, sort: &Sort) -> Result<SqlStream, SqlError> {
        let schema = sort.input.schema();
        let first = sort
            .expr
            .first()
            .map(|time| (time, time.expr.get_type(schema.as_ref())));
        let Some((time, Ok(DataType::Timestamp(_, _)))) = first.filter(|(time, _)| time.asc) else {
            return Err(unsupported(
                "ORDER BY without LIMIT in streaming SQL unless it starts with an ascending event-time column \
                 (add LIMIT n for the first n rows in any order)",
            ));
        };
        let partition = GroupKeys::plan(&[], schema)?;
        let spec = OverSpec {
            partition: partition.clone(),
            time: physical(&time.expr, schema)?,
            ties: SortKey::plan(&sort.expr[1..], schema)?,
            frame: Frame::Rows(None),
            aggs: Vec::new(),
            types: schema.fields().iter().map(|f| f.data_type().clone()).collect(),
            schema: Arc::new(schema.as_arrow().clone()),
        };
        let input = self.stream(&sort.input)?;
        let name = if input.is_updating() {
            "Temporal sort [insert-only, from updates]"
        } else {
            "Temporal sort [insert-only]"
        };
        let stream = input
            .stream
            .partition_with(partition.partitioning())
            .transform(name, move |ctx| {
                let mut store = keyed_store::<Vec<u8>>(ctx)?;
                let mut timers = Timers::new("sort");
                timers.restore(&mut store)?;
                Ok(OverAggregate::new(ctx.meta.clone(), spec.clone(), store, timers)?)
            });
        Ok(SqlStream::insert_only(stream))
    }

    /// The first `skip + fetch` rows of `input` in `order` (arrival order when
    /// empty), of which the last `fetch` are shown.
    fn top_n(&self, input: &LogicalPlan, order: &[SortExpr], skip: usize, fetch: usize) -> Result<SqlStream, SqlError> {
        if fetch == 0 {
            return Err(SqlError::Plan("LIMIT 0 keeps no rows".into()));
        }
        let limit = skip
            .checked_add(fetch)
            .ok_or_else(|| SqlError::Plan(format!("LIMIT {fetch} OFFSET {skip} is too large")))?;
        let schema = input.schema();
        let order = SortKey::plan(order, schema)?;
        let rows = self.stream(input)?;
        let partition = GroupKeys::plan(&[], schema)?;
        let mut spec = TopNSpec {
            partition: partition.clone(),
            order,
            limit,
            skip,
            with_rank: false,
            retracting: rows.is_updating(),
            types: schema.fields().iter().map(|f| f.data_type().clone()).collect(),
            schema: Arc::new(schema.as_arrow().clone()),
        };
        let insert_only = spec.insert_only();
        if !insert_only {
            spec.schema = output::with_kind(schema.as_arrow());
        }
        let mode = if insert_only {
            ChangelogMode::InsertOnly
        } else {
            ChangelogMode::Retract
        };
        let ttl = self.state_ttl.clone();
        let name = if insert_only { "Limit" } else { "Sort limit" };
        let stream = rows
            .stream
            .partition_with(partition.partitioning())
            .transform(&format!("{name} [{}]", mode.name()), move |ctx| {
                Ok(TopN::new(ctx.meta.clone(), spec.clone(), keyed_store::<Vec<u8>>(ctx)?)?.with_state_ttl(&ttl))
            });
        Ok(SqlStream {
            stream,
            mode,
            upsert_key: None,
        })
    }
}
