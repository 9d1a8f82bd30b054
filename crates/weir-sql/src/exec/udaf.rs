//! DataFusion aggregate functions in Weir's aggregates: Rust UDAFs (registered with
//! [`SqlSession::register_aggregate_function`](crate::script::SqlSession::register_aggregate_function))
//! and DataFusion's own aggregates Weir has no accumulator of its own for.
//!
//! A DataFusion `Accumulator` is a live object; Weir's aggregates keep their state
//! per key in keyed state (heap or RocksDB, in checkpoints and savepoints). So a
//! group's state is the accumulator's [`state()`](datafusion::logical_expr::Accumulator::state)
//! together with its last result, encoded as one row of Arrow's row format
//! ([`Acc::Udaf`](super::accumulator::Acc::Udaf)). A batch of a group's rows is
//! applied to a fresh accumulator restored from that state with `merge_batch`:
//! added rows with `update_batch`, taken-back rows (`-U`, `-D`) with
//! `retract_batch`, in the order they came, then the new state and result are
//! encoded again. One accumulator per group and batch, not per row.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, UInt32Array};
use arrow::compute::{cast, take};
use arrow::datatypes::DataType;
use arrow::row::{RowConverter, SortField};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::logical_expr::expr::{AggregateFunction, NullTreatment};
use datafusion::logical_expr::Accumulator;
use datafusion::physical_expr::aggregate::{AggregateExprBuilder, AggregateFunctionExpr};
use datafusion::physical_expr::PhysicalExpr;

use crate::error::SqlError;
use crate::exec::eval::{evaluate, physical};

/// Aggregates whose sliding accumulators keep less in their `state()` than
/// `retract_batch` needs (DataFusion's MIN and MAX keep only the current value), so
/// they cannot take rows back once restored from their state.
const LOSSY_STATES: [&str; 2] = ["min", "max"];

/// A call of a DataFusion aggregate function.
#[derive(Debug)]
pub struct UdafCall {
    /// The function's name, for errors.
    pub name: String,
    expr: AggregateFunctionExpr,
    args: Vec<Arc<dyn PhysicalExpr>>,
    retracting: bool,
    /// Row encoding of the state fields, then the result.
    state: RowConverter,
    state_types: Vec<DataType>,
    result_type: DataType,
    /// Row encoding of the arguments (for rows kept before aggregating).
    arg_rows: RowConverter,
}

/// The arguments of a UDAF for every row of a batch.
#[derive(Debug)]
pub struct UdafArgs {
    /// One column per argument.
    pub columns: Vec<ArrayRef>,
    /// `FILTER (WHERE ...)`: only rows where it is true are aggregated.
    pub keep: Option<BooleanArray>,
}

impl UdafArgs {
    fn keeps(&self, row: usize) -> bool {
        self.keep
            .as_ref()
            .is_none_or(|keep| keep.is_valid(row) && keep.value(row))
    }
}

fn unsupported(feature: String) -> SqlError {
    SqlError::Unsupported {
        feature,
        position: None,
    }
}

impl UdafCall {
    /// The call `call` over rows of `input`; `retracting` when the input may take
    /// rows back (then the function's accumulator must support `retract_batch`).
    pub fn plan(call: &AggregateFunction, input: &DFSchema, retracting: bool) -> Result<UdafCall, SqlError> {
        let name = call.func.name().to_string();
        if call.params.distinct {
            return Err(unsupported(format!("{name}(DISTINCT ...) (yet)")));
        }
        if !call.params.order_by.is_empty() {
            return Err(unsupported(format!("ORDER BY in {name}")));
        }
        if call.params.args.is_empty() {
            return Err(unsupported(format!(
                "the aggregate function '{name}' without arguments"
            )));
        }
        let args = call
            .params
            .args
            .iter()
            .map(|a| physical(a, input))
            .collect::<Result<Vec<_>, _>>()?;
        let schema = Arc::new(input.as_arrow().clone());
        let arg_types = args
            .iter()
            .map(|a| a.data_type(&schema))
            .collect::<Result<Vec<_>, _>>()?;
        let expr = AggregateExprBuilder::new(call.func.clone(), args.clone())
            .schema(schema)
            .alias(name.clone())
            .with_ignore_nulls(call.params.null_treatment == Some(NullTreatment::IgnoreNulls))
            .build()?;
        let state_types: Vec<DataType> = expr.state_fields()?.iter().map(|f| f.data_type().clone()).collect();
        let result_type = expr.field().data_type().clone();
        let state_fields: Vec<SortField> = state_types
            .iter()
            .chain([&result_type])
            .map(|t| SortField::new(t.clone()))
            .collect();
        if !RowConverter::supports_fields(&state_fields) {
            return Err(unsupported(format!(
                "the aggregate function '{name}': its state ({}) cannot be kept in Weir's state",
                state_types
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let arg_fields: Vec<SortField> = arg_types.iter().map(|t| SortField::new(t.clone())).collect();
        if !RowConverter::supports_fields(&arg_fields) {
            return Err(unsupported(format!(
                "the aggregate function '{name}' of arguments of these types ({})",
                arg_types.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            )));
        }
        let planned = UdafCall {
            expr,
            args,
            retracting,
            state: RowConverter::new(state_fields)?,
            state_types,
            result_type,
            arg_rows: RowConverter::new(arg_fields)?,
            name,
        };
        if retracting {
            // A sliding accumulator that cannot retract may also refuse to be made.
            let retracts = planned.accumulator().is_ok_and(|acc| acc.supports_retract_batch())
                && !LOSSY_STATES.contains(&planned.name.to_ascii_lowercase().as_str());
            if !retracts {
                return Err(SqlError::Plan(format!(
                    "aggregate function '{}' cannot take back rows: the query's input is updating \
                     (its accumulator does not support retract_batch)",
                    planned.name
                )));
            }
        }
        Ok(planned)
    }

    /// A fresh accumulator (the sliding one, which can retract, over an updating
    /// input).
    fn accumulator(&self) -> Result<Box<dyn Accumulator>, SqlError> {
        Ok(if self.retracting {
            self.expr.create_sliding_accumulator()?
        } else {
            self.expr.create_accumulator()?
        })
    }

    /// The arguments of every row of `batch` (`filter`: the rows to aggregate).
    pub fn arguments(&self, batch: &RecordBatch, filter: Option<&Arc<dyn PhysicalExpr>>) -> Result<UdafArgs, SqlError> {
        let columns = self
            .args
            .iter()
            .map(|a| evaluate(a, batch))
            .collect::<Result<Vec<_>, _>>()?;
        let keep = match filter {
            Some(filter) => {
                let mask = evaluate(filter, batch)?;
                match mask.as_any().downcast_ref::<BooleanArray>() {
                    Some(mask) => Some(mask.clone()),
                    None => return Err(SqlError::Plan(format!("FILTER is {}, not boolean", mask.data_type()))),
                }
            }
            None => None,
        };
        Ok(UdafArgs { columns, keep })
    }

    /// The encoded state's columns: the state fields, then the result.
    fn decode(&self, state: &[u8]) -> Result<Vec<ArrayRef>, SqlError> {
        let parser = self.state.parser();
        Ok(self.state.convert_rows([parser.parse(state)])?)
    }

    /// Evaluates `acc` and encodes its state and result.
    pub(crate) fn save(&self, acc: &mut dyn Accumulator) -> Result<Vec<u8>, SqlError> {
        // `evaluate` leaves the state as it is; `state` may consume it: in this order.
        let result = acc.evaluate()?;
        let state = acc.state()?;
        if state.len() != self.state_types.len() {
            return Err(SqlError::Plan(format!(
                "aggregate function '{}': its accumulator's state has {} values, its state fields {}",
                self.name,
                state.len(),
                self.state_types.len()
            )));
        }
        let mut columns = Vec::with_capacity(state.len() + 1);
        for (value, ty) in state
            .iter()
            .chain([&result])
            .zip(self.state_types.iter().chain([&self.result_type]))
        {
            columns.push(cast(&value.to_array()?, ty)?);
        }
        let rows = self.state.convert_columns(&columns)?;
        Ok(rows.row(0).as_ref().to_vec())
    }

    /// A fresh accumulator holding `state` (empty: no rows yet).
    pub(crate) fn restored(&self, state: &[u8]) -> Result<Box<dyn Accumulator>, SqlError> {
        let mut acc = self.accumulator()?;
        if !state.is_empty() {
            let columns = self.decode(state)?;
            acc.merge_batch(&columns[..self.state_types.len()])?;
        }
        Ok(acc)
    }

    /// Applies runs of rows of a batch to `state`, in order: each run's rows (those
    /// the filter keeps) are added (`true`) or taken back (`false`).
    pub fn update(&self, state: &mut Vec<u8>, args: &UdafArgs, runs: &[(bool, Vec<usize>)]) -> Result<(), SqlError> {
        let runs: Vec<(bool, UInt32Array)> = runs
            .iter()
            .map(|(add, rows)| {
                let rows: UInt32Array = rows
                    .iter()
                    .filter(|&&row| args.keeps(row))
                    .map(|&row| row as u32)
                    .collect();
                (*add, rows)
            })
            .filter(|(_, rows)| !rows.is_empty())
            .collect();
        if runs.is_empty() {
            return Ok(());
        }
        let mut acc = self.restored(state)?;
        for (add, rows) in runs {
            let columns = args
                .columns
                .iter()
                .map(|c| take(c.as_ref(), &rows, None))
                .collect::<Result<Vec<_>, _>>()?;
            if add {
                acc.update_batch(&columns)?;
            } else {
                acc.retract_batch(&columns)?;
            }
        }
        *state = self.save(acc.as_mut())?;
        Ok(())
    }

    /// The result of `state` (empty: the result over no rows).
    pub fn result(&self, state: &[u8]) -> Result<ScalarValue, SqlError> {
        if state.is_empty() {
            return Ok(self.accumulator()?.evaluate()?);
        }
        let columns = self.decode(state)?;
        match columns.last() {
            Some(result) => Ok(ScalarValue::try_from_array(result, 0)?),
            None => Err(SqlError::Plan(format!(
                "aggregate function '{}': an empty state",
                self.name
            ))),
        }
    }

    /// The arguments of each row of `args`, encoded to be kept (`None` for rows the
    /// filter drops).
    pub fn encode_arguments(&self, args: &UdafArgs) -> Result<Vec<Option<Vec<u8>>>, SqlError> {
        let rows = self.arg_rows.convert_columns(&args.columns)?;
        Ok((0..rows.num_rows())
            .map(|row| args.keeps(row).then(|| rows.row(row).as_ref().to_vec()))
            .collect())
    }

    /// Adds (`add`) or takes back one row of arguments encoded by
    /// [`encode_arguments`](Self::encode_arguments) to a live accumulator (an OVER
    /// window's, between restoring and saving it).
    pub(crate) fn apply_encoded(&self, acc: &mut dyn Accumulator, row: &[u8], add: bool) -> Result<(), SqlError> {
        let parser = self.arg_rows.parser();
        let columns = self.arg_rows.convert_rows([parser.parse(row)])?;
        if add {
            acc.update_batch(&columns)?;
        } else {
            acc.retract_batch(&columns)?;
        }
        Ok(())
    }

    /// The result of a live accumulator (it keeps its state).
    pub(crate) fn evaluate_live(&self, acc: &mut dyn Accumulator) -> Result<ScalarValue, SqlError> {
        Ok(acc.evaluate()?)
    }

    /// The result over rows of arguments encoded by [`encode_arguments`](Self::encode_arguments).
    pub fn result_of_rows<'a>(&self, rows: impl IntoIterator<Item = &'a [u8]>) -> Result<ScalarValue, SqlError> {
        let parser = self.arg_rows.parser();
        let rows: Vec<_> = rows.into_iter().map(|bytes| parser.parse(bytes)).collect();
        let mut acc = self.accumulator()?;
        if !rows.is_empty() {
            let columns = self.arg_rows.convert_rows(rows)?;
            acc.update_batch(&columns)?;
        }
        Ok(acc.evaluate()?)
    }
}
