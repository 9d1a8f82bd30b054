//! Integration tests of weir-sql.

mod bridge;
mod changelog_source;
mod connectors_datagen;
mod connectors_nexmark;
mod front_catalog;
mod front_errors;
mod front_fuzz;
mod front_nexmark;
mod front_statements;
mod front_tvf;
mod functions;
mod golden;
mod interval_join;
mod join_restore;
mod lookup_join;
mod nexmark_sql;
mod plan_changelog;
mod plan_restart;
mod plan_stream;
mod read_fields;
mod rescale;
mod script;
mod temporal_join;
mod udf;
