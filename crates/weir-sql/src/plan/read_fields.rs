//! Which fields of a table's struct (`ROW`) columns a query reads ([`ReadFields`]
//! per table), so that its source can leave the others empty: the Nexmark table has
//! three `ROW` columns of 7–10 fields each, and most queries read two or three.
//!
//! Each column of each plan node is traced back to the table's struct column it
//! carries unchanged, if any (its lineage: through aliases, filters, plain column
//! projections, joins and window nodes). An expression reading such a column
//! through `get_field(column, 'name')` reads that field; any other use, a column
//! reaching the query's result or a view's result, or a node this module does not
//! know reads the whole struct. The computed columns and watermark of every table
//! scanned count as read.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::catalog::TableProvider;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::Column;
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::{Expr, JoinType, LogicalPlan, TableScan};

use crate::connector::ReadFields;
use crate::plan::{PlannedTable, SchemaTable, SqlPlanner, WindowScan};

/// A table's struct column carried unchanged: (table, column).
type Lineage = Option<(String, String)>;

/// The struct fields read by a query, per table.
#[derive(Debug, Clone, Default)]
pub struct TableReads {
    tables: HashMap<String, ReadFields>,
}

impl TableReads {
    /// What the query reads of `table`'s struct columns (all of a table it does not
    /// scan).
    pub fn table(&self, table: &str) -> ReadFields {
        self.tables.get(table).cloned().unwrap_or_default()
    }
}

/// The struct fields `plan` reads, with the views its window TVFs read and the
/// computed columns and watermarks of the tables it scans.
pub fn read_fields(planner: &SqlPlanner, plan: &LogicalPlan) -> TableReads {
    let mut analysis = Analysis {
        planner,
        reads: TableReads::default(),
        views: HashSet::new(),
    };
    analysis.result(plan);
    analysis.reads
}

struct Analysis<'a> {
    planner: &'a SqlPlanner,
    reads: TableReads,
    /// Views analysed, with the columns taken of them.
    views: HashSet<(String, Vec<usize>)>,
}

impl Analysis<'_> {
    /// A plan whose result leaves it (a query or a view): its columns are read whole.
    fn result(&mut self, plan: &LogicalPlan) {
        for lineage in self.lineage(plan) {
            self.whole(&lineage);
        }
    }

    fn whole(&mut self, lineage: &Lineage) {
        if let Some((table, column)) = lineage {
            self.reads.tables.entry(table.clone()).or_default().read_whole(column);
        }
    }

    fn field(&mut self, lineage: &Lineage, field: &str) {
        if let Some((table, column)) = lineage {
            self.reads
                .tables
                .entry(table.clone())
                .or_default()
                .read_field(column, field);
        }
    }

    /// The lineage of each column of `plan`, noting the reads of its expressions.
    fn lineage(&mut self, plan: &LogicalPlan) -> Vec<Lineage> {
        let inputs = plan.inputs();
        let lineages: Vec<Vec<Lineage>> = inputs.iter().map(|input| self.lineage(input)).collect();
        let resolve = |column: &Column| -> Lineage {
            inputs.iter().zip(&lineages).find_map(|(input, lineage)| {
                let index = input.schema().maybe_index_of_column(column)?;
                Some(lineage.get(index).cloned().flatten())
            })?
        };
        let width = plan.schema().fields().len();
        let out: Option<Vec<Lineage>> = match plan {
            LogicalPlan::TableScan(scan) => Some(self.scan(scan)),
            LogicalPlan::Projection(projection) => Some(
                projection
                    .expr
                    .iter()
                    .map(|expr| match expr.clone().unalias() {
                        // Carried unchanged: read where it is used.
                        Expr::Column(column) => resolve(&column),
                        other => {
                            self.expr(&other, &resolve);
                            None
                        }
                    })
                    .collect(),
            ),
            LogicalPlan::Filter(filter) => {
                self.expr(&filter.predicate, &resolve);
                lineages.first().cloned()
            }
            LogicalPlan::SubqueryAlias(_) => lineages.first().cloned(),
            LogicalPlan::Join(join) => {
                let _ = plan.apply_expressions(|expr| {
                    self.expr(expr, &resolve);
                    Ok(TreeNodeRecursion::Continue)
                });
                let (left, right) = (lineages.first().cloned(), lineages.get(1).cloned());
                match join.join_type {
                    JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full => {
                        left.zip(right).map(|(l, r)| l.into_iter().chain(r).collect())
                    }
                    JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => left,
                    JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => right,
                }
            }
            LogicalPlan::Window(_)
            | LogicalPlan::Aggregate(_)
            | LogicalPlan::Values(_)
            | LogicalPlan::EmptyRelation(_) => {
                let _ = plan.apply_expressions(|expr| {
                    self.expr(expr, &resolve);
                    Ok(TreeNodeRecursion::Continue)
                });
                // A window node passes its input's columns on; new columns carry
                // nothing of a table.
                let passed = match plan {
                    LogicalPlan::Window(_) => lineages.first().cloned().unwrap_or_default(),
                    _ => Vec::new(),
                };
                Some(passed)
            }
            _ => None,
        };
        match out {
            Some(mut out) if out.len() <= width => {
                out.resize(width, None);
                out
            }
            // Unknown: everything it takes is read whole.
            _ => {
                for lineage in lineages.iter().flatten() {
                    self.whole(lineage);
                }
                vec![None; width]
            }
        }
    }

    /// The reads of `expr`, whose columns are resolved by `resolve`.
    fn expr(&mut self, expr: &Expr, resolve: &dyn Fn(&Column) -> Lineage) {
        let _ = expr.apply(|e| {
            if let Some((column, field)) = field_access(e) {
                let lineage = resolve(column);
                self.field(&lineage, field);
                return Ok(TreeNodeRecursion::Jump);
            }
            if let Expr::Column(column) = e {
                let lineage = resolve(column);
                self.whole(&lineage);
            }
            Ok(TreeNodeRecursion::Continue)
        });
    }

    /// The scanned table's struct columns; a window TVF's input table's columns
    /// (a view under a window TVF is a result of its own).
    fn scan(&mut self, scan: &TableScan) -> Vec<Lineage> {
        let width = scan.projected_schema.fields().len();
        let Ok(provider) = source_as_provider(&scan.source) else {
            return vec![None; width];
        };
        let provider: Arc<dyn TableProvider> = provider;
        let any: &dyn std::any::Any = provider.as_ref();
        let (name, schema, view_columns) = if let Some(table) = any.downcast_ref::<SchemaTable>() {
            (table.name.clone(), table.schema.clone(), Vec::new())
        } else if let Some(window) = any.downcast_ref::<WindowScan>() {
            // A view under the TVF computes only the columns the scan needs.
            let Ok(columns) = window.input_columns(scan.projection.as_deref()) else {
                return vec![None; width];
            };
            (window.tvf.table.clone(), window.schema.clone(), columns)
        } else {
            return vec![None; width];
        };
        let all: Vec<Lineage> = match self.planner.table(&name) {
            Some(table) => {
                self.table(table);
                schema
                    .fields()
                    .iter()
                    .map(|field| {
                        let physical = table.def.schema.field_with_name(field.name()).ok()?;
                        matches!(physical.data_type(), DataType::Struct(_))
                            .then(|| (name.clone(), field.name().clone()))
                    })
                    .collect()
            }
            None => {
                if let Ok(Some(view)) = self.planner.view_columns(&name, &view_columns) {
                    if self.views.insert((name.clone(), view_columns)) {
                        self.result(&view);
                    }
                }
                vec![None; schema.fields().len()]
            }
        };
        match &scan.projection {
            Some(indexes) => indexes.iter().map(|i| all.get(*i).cloned().flatten()).collect(),
            None => all,
        }
    }

    /// A scanned table: its struct columns are known, its computed columns and
    /// watermark read.
    fn table(&mut self, table: &PlannedTable) {
        let name = table.def.name.clone();
        let reads = self.reads.tables.entry(name.clone()).or_default();
        for field in table.def.schema.fields() {
            if matches!(field.data_type(), DataType::Struct(_)) {
                reads.read_no_field(field.name());
            }
        }
        let resolve = |column: &Column| -> Lineage {
            let field = table.def.schema.field_with_name(&column.name).ok()?;
            matches!(field.data_type(), DataType::Struct(_)).then(|| (name.clone(), column.name.clone()))
        };
        let computed: Vec<&Expr> = table
            .columns
            .iter()
            .filter_map(|c| c.as_ref().err())
            .chain(&table.watermark)
            .collect();
        for expr in computed {
            self.expr(expr, &resolve);
        }
    }
}

/// `get_field(column, 'field')`.
fn field_access(expr: &Expr) -> Option<(&Column, &str)> {
    let Expr::ScalarFunction(call) = expr else {
        return None;
    };
    if call.func.name() != "get_field" {
        return None;
    }
    match call.args.as_slice() {
        [Expr::Column(column), Expr::Literal(value, _)] => Some((column, value.try_as_str()??)),
        _ => None,
    }
}
