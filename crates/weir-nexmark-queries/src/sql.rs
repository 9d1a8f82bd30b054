//! The 23 Nexmark queries as SQL: the texts of the Flink Nexmark repository (its
//! `ddl_gen.sql` source table, `ddl_views.sql` views and `queries/qN.sql`), kept
//! as files under `crates/weir-nexmark-queries/sql/` and run by `weir nexmark run
//! --sql`. Each query writes into a table `nexmark_qN` declared with `'connector'
//! = 'blackhole'`, as in Flink; the runner points it elsewhere when rows are kept.
//!
//! Changes from the Flink texts (and why) are listed in [`CHANGES`].

use crate::Query;

/// The `datagen` source table and the `person`, `auction` and `bid` views.
pub const DDL: &str = include_str!("../sql/ddl.sql");

/// Where Weir's texts differ from the Flink Nexmark repository's, and why.
pub const CHANGES: &[(&str, &str)] = &[
    (
        "q6",
        "not in the Flink repository (Flink cannot run it: its OVER windows take no \
         updates); the README's query, changed to the intended semantics that Weir's \
         DataStream version has: the ROW_NUMBER filter moved a level up (the README \
         filters on `rownum` where it is defined), the OVER window ordered by \
         `expires, id` (a sale is final when its auction closes; Weir's OVER windows \
         answer a row once the watermark passes its time, and take further ORDER BY \
         keys for ties) over `9 PRECEDING` (the last 10 sales, as the query's \
         description says; `10 PRECEDING` would hold 11)",
    ),
    (
        "q13",
        "the side table declared with Flink's current filesystem options (`'connector' = \
         'filesystem', 'path', 'format'`) instead of the legacy `connector.type`, \
         `connector.path` and `format.type`, which Weir does not read",
    ),
    (
        "q7",
        "Flink's text selects `B.auction, B.price, B.bidder` into the columns \
         `auction, bidder, price`; Weir's selects them in the columns' order",
    ),
];

/// The sink table a query writes into.
pub fn sink_table(query: Query) -> String {
    format!("nexmark_{query}")
}

/// The SQL text of `query`: its sink table's DDL and its `INSERT` (q12 and q13
/// also declare a view or a side table).
pub fn text(query: Query) -> &'static str {
    match query.number() {
        0 => include_str!("../sql/q0.sql"),
        1 => include_str!("../sql/q1.sql"),
        2 => include_str!("../sql/q2.sql"),
        3 => include_str!("../sql/q3.sql"),
        4 => include_str!("../sql/q4.sql"),
        5 => include_str!("../sql/q5.sql"),
        6 => include_str!("../sql/q6.sql"),
        7 => include_str!("../sql/q7.sql"),
        8 => include_str!("../sql/q8.sql"),
        9 => include_str!("../sql/q9.sql"),
        10 => include_str!("../sql/q10.sql"),
        11 => include_str!("../sql/q11.sql"),
        12 => include_str!("../sql/q12.sql"),
        13 => include_str!("../sql/q13.sql"),
        14 => include_str!("../sql/q14.sql"),
        15 => include_str!("../sql/q15.sql"),
        16 => include_str!("../sql/q16.sql"),
        17 => include_str!("../sql/q17.sql"),
        18 => include_str!("../sql/q18.sql"),
        19 => include_str!("../sql/q19.sql"),
        20 => include_str!("../sql/q20.sql"),
        21 => include_str!("../sql/q21.sql"),
        _ => include_str!("../sql/q22.sql"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_has_its_text_writing_its_sink_table() {
        for query in Query::all() {
            let table = sink_table(query);
            let text = text(query);
            assert!(text.contains(&format!("CREATE TABLE {table} (")), "{query}");
            assert!(text.contains(&format!("INSERT INTO {table}")), "{query}");
        }
    }
}
