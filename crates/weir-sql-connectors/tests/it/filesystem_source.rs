//! The `filesystem` SQL source and lookup source: CSV and JSON lines files in
//! temporary directories read through SQL queries (every type, NULLs, a
//! directory of several files at parallelism 2, a computed column and a
//! WATERMARK under a TUMBLE window that fires at the end of the files), the
//! error of a line that does not parse (file, line, column),
//! `*.ignore-parse-errors`, option errors, the lookup loader's batches, a
//! round trip through the `filesystem` sink, and `debezium-json` change events
//! read as a retract changelog (with their errors).
#![allow(clippy::unwrap_used)]

use crate::common::part_files::read;
use std::path::Path;
use std::sync::{Arc, Mutex};
use weir_datastream::{CollectHandle, DataStream, DataStreamSink, StreamExecutionEnvironment};
use weir_sql::batch::RowBatch;
use weir_sql::connector::{ChangelogMode, SqlLookupSource, SqlSink};
use weir_sql::connectors::builtin;
use weir_sql::error::SqlError;
use weir_sql::front::{Catalog, TableDef};
use weir_sql::rows::format_rows;
use weir_sql::script::SqlSession;
use weir_sql_connectors::FilesystemSqlSource;

/// Collects the batches written into tables with `'connector' = 'collect'`.
#[derive(Clone, Default)]
struct Collect {
    handles: Arc<Mutex<Vec<CollectHandle<RowBatch>>>>,
}

impl SqlSink for Collect {
    fn name(&self) -> &'static str {
        "collect"
    }

    fn accepts(&self, _: &TableDef, _: ChangelogMode) -> bool {
        true
    }

    fn create_sink(
        &self,
        _: &TableDef,
        input: DataStream<RowBatch>,
        _: ChangelogMode,
    ) -> Result<DataStreamSink, SqlError> {
        self.handles.lock().unwrap().push(input.collect());
        Ok(input.discard())
    }
}

impl Collect {
    /// The rows collected, formatted (`+I[1, a]`) and sorted.
    fn rows(&self) -> Vec<String> {
        let mut rows: Vec<String> = self
            .handles
            .lock()
            .unwrap()
            .iter()
            .flat_map(|h| h.take())
            .flat_map(|batch| format_rows(&batch).unwrap())
            .collect();
        rows.sort();
        rows
    }
}

/// Runs `script` (its `INSERT`s into `collect` tables) at `parallelism`: the rows
/// collected, sorted, or the planning or job error.
fn query(script: &str, parallelism: usize) -> Result<Vec<String>, String> {
    let collect = Collect::default();
    let mut connectors = builtin();
    weir_sql_connectors::register(&mut connectors);
    connectors.register_sink(Arc::new(collect.clone()));
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism);
    SqlSession::new(connectors)
        .run_script(&env, script)
        .map_err(|e| e.to_string())?;
    env.execute("filesystem source").map_err(|e| e.to_string())?;
    Ok(collect.rows())
}

/// A `filesystem` table `name (columns)` reading `path` in `format`, with
/// `extra` options (`, 'key' = 'value'`).
fn table(name: &str, columns: &str, path: &Path, format: &str, extra: &str) -> String {
    format!(
        "CREATE TABLE {name} ({columns}) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = '{format}'{extra});\n",
        path.display()
    )
}

const TYPES: &str = "id BIGINT, i INT, s SMALLINT, t TINYINT, d DOUBLE, f FLOAT, price DECIMAL(10, 2), \
     ok BOOLEAN, name STRING, day DATE, at_time TIME, ts TIMESTAMP(3)";

/// The rows of [`TYPES`] the CSV and JSON files below hold, as printed.
const TYPED_ROWS: [&str; 3] = [
    "+I[1, 100000, -300, 7, 1.5, 0.25, 12.50, true, apple, 2015-07-15, 00:00:04.123, 2015-07-15T00:00:04.123]",
    "+I[2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL]",
    "+I[3, -1, 0, -128, -0.001, 3.0, -0.05, false, say \"hi\", 1969-12-31, 23:59:59, 1969-12-31T23:59:59.900]",
];

fn select_all(table_name: &str) -> String {
    format!("CREATE TABLE out ({TYPES}) WITH ('connector' = 'collect');\nINSERT INTO out SELECT * FROM {table_name};")
}

#[test]
fn csv_columns_of_every_type_and_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rows.csv");
    std::fs::write(
        &file,
        "1,100000,-300,7,1.5,0.25,12.5,true,apple,2015-07-15,00:00:04.123,2015-07-15 00:00:04.123\n\
         2,,,,,,,,NULL,,,\r\n\
         \n\
         3,-1,0,-128,-1e-3,3,-0.05,FALSE,\"say \"\"hi\"\"\",1969-12-31,23:59:59,1969-12-31T23:59:59.9",
    )
    .unwrap();
    let script = format!(
        "{}{}",
        table("src", TYPES, &file, "csv", ", 'csv.null-literal' = 'NULL'"),
        select_all("src")
    );
    assert_eq!(query(&script, 1).unwrap(), TYPED_ROWS);
}

#[test]
fn csv_empty_fields_of_strings_are_empty_and_comments_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rows.csv");
    std::fs::write(&file, "# a comment\n1;;x\n2;-;\n").unwrap();
    let script = format!(
        "{}CREATE TABLE out (id INT, a STRING, b STRING) WITH ('connector' = 'collect');
        INSERT INTO out SELECT id, a, b FROM src;",
        table(
            "src",
            "id INT, a STRING, b STRING",
            &file,
            "csv",
            ", 'csv.field-delimiter' = ';', 'csv.allow-comments' = 'true', 'csv.null-literal' = '-'"
        )
    );
    // Row 1's `a` is the empty string (printed as nothing), row 2's `a` NULL.
    assert_eq!(query(&script, 1).unwrap(), ["+I[1, , x]", "+I[2, NULL, ]"]);
}

#[test]
fn json_columns_of_every_type_and_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rows.json");
    std::fs::write(
        &file,
        concat!(
            r#"{"id":1,"i":100000,"s":-300,"t":7,"d":1.5,"f":0.25,"price":12.50,"ok":true,"name":"apple","day":"2015-07-15","at_time":"00:00:04.123","ts":"2015-07-15T00:00:04.123","other":[1]}"#,
            "\n",
            r#"{"id":2,"i":null}"#,
            "\n",
            // Numbers and booleans in strings, as Flink reads them.
            r#"{"id":"3","i":"-1","s":0,"t":-128,"d":-1e-3,"f":"3","price":"-0.05","ok":"false","name":"say \"hi\"","day":"1969-12-31","at_time":"23:59:59","ts":"1969-12-31T23:59:59.9"}"#,
            "\n"
        ),
    )
    .unwrap();
    let script = format!(
        "{}{}",
        table(
            "src",
            TYPES,
            &file,
            "json",
            ", 'json.timestamp-format.standard' = 'ISO-8601'"
        ),
        select_all("src")
    );
    assert_eq!(query(&script, 1).unwrap(), TYPED_ROWS);
}

#[test]
fn json_string_columns_take_any_value_and_timestamps_follow_the_standard() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rows.json");
    std::fs::write(
        &file,
        "{\"id\":1,\"v\":{\"a\":[1,2]},\"ts\":\"2015-07-15 00:00:04\"}\n{\"id\":2,\"v\":12.5,\"ts\":\"2015-07-15 00:00:05.5\"}\n",
    )
    .unwrap();
    let script = format!(
        "{}CREATE TABLE out (id INT, v STRING, ts TIMESTAMP(3)) WITH ('connector' = 'collect');
        INSERT INTO out SELECT id, v, ts FROM src;",
        table("src", "id INT, v STRING, ts TIMESTAMP(3)", &file, "json", "")
    );
    assert_eq!(
        query(&script, 1).unwrap(),
        [
            "+I[1, {\"a\":[1,2]}, 2015-07-15T00:00:04]",
            "+I[2, 12.5, 2015-07-15T00:00:05.500]"
        ]
    );
    // The SQL standard (the default) does not read ISO timestamps.
    std::fs::write(&file, "{\"id\":1,\"v\":\"x\",\"ts\":\"2015-07-15T00:00:04\"}\n").unwrap();
    let error = query(&script, 1).unwrap_err();
    assert!(error.contains("column `ts`") && error.contains("'SQL'"), "{error}");
}

#[test]
fn a_directory_of_several_files_at_parallelism_2() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("more")).unwrap();
    let mut expected = Vec::new();
    // Several files, one of them large enough for several batches.
    for (file, ids) in [("a.csv", 0..3), ("b.csv", 3..5000), ("more/c.csv", 5000..5002)] {
        let mut text = String::new();
        for id in ids {
            text.push_str(&format!("{id},name-{id}\n"));
            expected.push((id, format!("name-{id}")));
        }
        std::fs::write(data.join(file), text).unwrap();
    }
    // Hidden files (a sink's in-progress files, markers) are not read.
    std::fs::write(data.join(".part-0.inprogress"), "bad line\n").unwrap();
    std::fs::write(data.join("_SUCCESS"), "").unwrap();
    let script = format!(
        "{}CREATE TABLE out (n BIGINT, total BIGINT, longest INT) WITH ('connector' = 'collect');
        INSERT INTO out SELECT COUNT(*), SUM(id), MAX(CHAR_LENGTH(name)) FROM src;",
        table(
            "src",
            "id BIGINT, name STRING",
            Path::new(&format!("file://{}", data.display())),
            "csv",
            ""
        )
    );
    let rows = query(&script, 2).unwrap();
    let total: i64 = expected.iter().map(|(id, _)| id).sum();
    // The updating aggregate's last row is the final count.
    let last = format!("[{}, {total}, 9]", expected.len());
    assert!(
        rows.iter().any(|r| r.ends_with(&last) && !r.starts_with("-")),
        "{last} not in {rows:?}"
    );

    let script = format!(
        "{}CREATE TABLE out (id BIGINT, name STRING) WITH ('connector' = 'collect');
        INSERT INTO out SELECT id, name FROM src WHERE id % 1000 = 1;",
        table("src", "id BIGINT, name STRING", &data, "csv", "")
    );
    let mut want: Vec<String> = expected
        .iter()
        .filter(|(id, _)| id % 1000 == 1)
        .map(|(id, name)| format!("+I[{id}, {name}]"))
        .collect();
    want.sort();
    assert_eq!(query(&script, 2).unwrap(), want);
}

#[test]
fn a_watermark_and_a_computed_column_fire_tumbling_windows_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bids.csv");
    std::fs::write(
        &file,
        "1,10,2015-07-15 00:00:01\n2,20,2015-07-15 00:00:04.500\n1,5,2015-07-15 00:00:09.999\n\
         1,7,2015-07-15 00:00:10\n3,1,2015-07-15 00:00:25\n",
    )
    .unwrap();
    let script = format!(
        "CREATE TABLE bids (
            bidder BIGINT, price BIGINT, ts TIMESTAMP(3),
            doubled AS price * 2,
            WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
        ) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv');
        CREATE TABLE out (window_end TIMESTAMP(3), bids BIGINT, total BIGINT) WITH ('connector' = 'collect');
        INSERT INTO out
        SELECT window_end, COUNT(*), SUM(doubled)
        FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
        GROUP BY window_start, window_end;",
        file.display()
    );
    for parallelism in [1, 2] {
        assert_eq!(
            query(&script, parallelism).unwrap(),
            [
                "+I[2015-07-15T00:00:10, 3, 70]",
                "+I[2015-07-15T00:00:20, 1, 14]",
                "+I[2015-07-15T00:00:30, 1, 2]",
            ],
            "parallelism {parallelism}"
        );
    }
}

#[test]
fn a_line_that_does_not_parse_fails_the_job_naming_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.csv");
    std::fs::write(&file, "1,a\n2,b\nthree,c\n4,d\n").unwrap();
    let script = format!(
        "{}CREATE TABLE out (id BIGINT, name STRING) WITH ('connector' = 'collect');
        INSERT INTO out SELECT * FROM src;",
        table("src", "id BIGINT, name STRING", &file, "csv", "")
    );
    let error = query(&script, 1).unwrap_err();
    for part in [
        file.display().to_string().as_str(),
        "line 3",
        "column `id` (BIGINT)",
        "\"three\"",
    ] {
        assert!(error.contains(part), "'{part}' not in: {error}");
    }
    // A line of the wrong number of fields, and JSON that is not an object.
    std::fs::write(&file, "1,a\n2,b,extra\n").unwrap();
    let error = query(&script, 1).unwrap_err();
    assert!(error.contains("line 2") && error.contains("3 fields"), "{error}");
    let json = dir.path().join("bad.json");
    std::fs::write(&json, "{\"id\":1}\n[1]\n").unwrap();
    let script = format!(
        "{}CREATE TABLE out (id BIGINT, name STRING) WITH ('connector' = 'collect');
        INSERT INTO out SELECT * FROM src;",
        table("src", "id BIGINT, name STRING", &json, "json", "")
    );
    let error = query(&script, 1).unwrap_err();
    assert!(
        error.contains(&json.display().to_string()) && error.contains("line 2") && error.contains("not a JSON object"),
        "{error}"
    );
}

#[test]
fn ignore_parse_errors_nulls_bad_fields_and_skips_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("rows.csv");
    std::fs::write(
        &csv,
        "1,a,2015-07-15\n2,b,yesterday\nnot,a,line,at all\n4,d,2015-07-16\nx,e,2015-07-17\n",
    )
    .unwrap();
    let script = format!(
        "{}CREATE TABLE out (id BIGINT, name STRING, day DATE) WITH ('connector' = 'collect');
        INSERT INTO out SELECT * FROM src;",
        table(
            "src",
            "id BIGINT NOT NULL, name STRING, day DATE",
            &csv,
            "csv",
            ", 'csv.ignore-parse-errors' = 'true'"
        )
    );
    // The bad date is NULL; the line of 4 fields and the one whose NOT NULL
    // `id` does not parse are skipped.
    assert_eq!(
        query(&script, 1).unwrap(),
        ["+I[1, a, 2015-07-15]", "+I[2, b, NULL]", "+I[4, d, 2015-07-16]"]
    );
    let json = dir.path().join("rows.json");
    std::fs::write(
        &json,
        "{\"id\":1,\"day\":\"2015-07-15\"}\n{oops\n{\"id\":2,\"day\":3}\n",
    )
    .unwrap();
    let script = format!(
        "{}CREATE TABLE out (id BIGINT, name STRING, day DATE) WITH ('connector' = 'collect');
        INSERT INTO out SELECT * FROM src;",
        table(
            "src",
            "id BIGINT, name STRING, day DATE",
            &json,
            "json",
            ", 'json.ignore-parse-errors' = 'true'"
        )
    );
    assert_eq!(
        query(&script, 1).unwrap(),
        ["+I[1, NULL, 2015-07-15]", "+I[2, NULL, NULL]"]
    );
}

#[test]
fn missing_unknown_and_bad_options_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rows.csv");
    std::fs::write(&file, "1\n").unwrap();
    let path = format!("'path' = '{}'", file.display());
    let cases = [
        ("'format' = 'csv'".to_string(), vec!["option 'path'", "required"]),
        (path.clone(), vec!["option 'format'", "required"]),
        (
            format!("{path}, 'format' = 'parquet'"),
            vec!["option 'format'", "unknown format 'parquet'", "csv"],
        ),
        (
            format!("{path}, 'format' = 'csv', 'csv.field-delimeter' = ';'"),
            vec!["option 'csv.field-delimeter'", "unknown option"],
        ),
        (
            format!("{path}, 'format' = 'csv', 'json.ignore-parse-errors' = 'true'"),
            vec!["option 'json.ignore-parse-errors'", "unknown option"],
        ),
        (
            format!("{path}, 'format' = 'csv', 'csv.ignore-parse-errors' = 'yes'"),
            vec!["option 'csv.ignore-parse-errors'", "'yes'"],
        ),
        (
            format!("{path}, 'format' = 'csv', 'csv.field-delimiter' = '::'"),
            vec!["option 'csv.field-delimiter'", "'::'"],
        ),
        (
            format!("{path}, 'format' = 'json', 'json.timestamp-format.standard' = 'RFC'"),
            vec!["option 'json.timestamp-format.standard'", "ISO-8601"],
        ),
        (
            format!("{path}, 'format' = 'csv', 'source.monitor-interval' = '1 s'"),
            vec!["option 'source.monitor-interval'", "bounded"],
        ),
        (
            "'path' = 'hdfs://namenode/data', 'format' = 'csv'".to_string(),
            vec!["option 'path'", "hdfs://"],
        ),
        (
            format!("'path' = '{}', 'format' = 'csv'", dir.path().join("nope").display()),
            vec!["option 'path'", "does not exist"],
        ),
    ];
    for (options, expected) in cases {
        let script = format!(
            "CREATE TABLE src (id BIGINT) WITH ('connector' = 'filesystem', {options});
            CREATE TABLE out (id BIGINT) WITH ('connector' = 'collect');
            INSERT INTO out SELECT id FROM src;"
        );
        let error = query(&script, 1).unwrap_err();
        for part in expected {
            assert!(error.contains(part), "{options}: '{part}' not in: {error}");
        }
    }
    // A column type the text formats do not read.
    let script = format!(
        "{}CREATE TABLE out (id BIGINT) WITH ('connector' = 'collect');
        INSERT INTO out SELECT id FROM src;",
        table("src", "id BIGINT, tags ARRAY<STRING>", &file, "json", "")
    );
    let error = query(&script, 1).unwrap_err();
    assert!(error.contains("column 'tags'"), "{error}");
}

/// The table `name` of `ddl`, as the catalog keeps it.
fn table_def(ddl: &str, name: &str) -> TableDef {
    let mut catalog = Catalog::new();
    catalog.apply_script(ddl).unwrap();
    catalog.table(name).unwrap().clone()
}

#[test]
fn the_lookup_loader_reads_every_row_into_batches() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dim");
    std::fs::create_dir_all(&data).unwrap();
    let mut text = String::new();
    for id in 0..2500 {
        text.push_str(&format!(
            "{{\"id\":{id},\"name\":\"n{id}\",\"rate\":\"{}.5\"}}\n",
            id % 10
        ));
    }
    std::fs::write(data.join("a.json"), text).unwrap();
    std::fs::write(data.join("b.json"), "{\"id\":9999}\n").unwrap();
    let def = table_def(
        &table("dim", "id INT, name STRING, rate DECIMAL(5, 1)", &data, "json", ""),
        "dim",
    );
    let load = FilesystemSqlSource.lookup_loader(&def).unwrap();
    let batches = load().unwrap();
    assert!(batches.len() > 1, "{} batches", batches.len());
    let rows: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            assert_eq!(b.schema(), def.schema);
            format_rows(&RowBatch(b.clone())).unwrap()
        })
        .collect();
    assert_eq!(rows.len(), 2501);
    assert_eq!(rows[0], "+I[0, n0, 0.5]");
    assert_eq!(rows[2499], "+I[2499, n2499, 9.5]");
    assert_eq!(rows[2500], "+I[9999, NULL, NULL]");
    // Loaded again, the files are read again: a line appended is there.
    std::fs::write(data.join("b.json"), "{\"id\":9999}\n{\"id\":\"bad\"}\n").unwrap();
    let error = load().unwrap_err().to_string();
    assert!(
        error.contains("b.json") && error.contains("line 2") && error.contains("column `id`"),
        "{error}"
    );

    // Options are checked when the loader is made.
    let bad = table_def(
        &table("dim", "id INT", &data, "json", ", 'lookup.cache' = 'ALL'"),
        "dim",
    );
    let error = FilesystemSqlSource.lookup_loader(&bad).err().unwrap().to_string();
    assert!(error.contains("option 'lookup.cache'"), "{error}");
    let missing = table_def(&table("dim", "id INT", &dir.path().join("nope"), "json", ""), "dim");
    let error = FilesystemSqlSource.lookup_loader(&missing).err().unwrap().to_string();
    assert!(error.contains("option 'path'") && error.contains("nope"), "{error}");
}

#[test]
fn rows_written_by_the_filesystem_sink_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let columns = "id INT, name STRING, ts TIMESTAMP(3), price DECIMAL(10, 2), ok BOOLEAN, day DATE";
    let write = format!(
        "{}INSERT INTO written SELECT * FROM (VALUES
            (1, 'apple', TIMESTAMP '2015-07-15 00:00:04.123', 12.5, TRUE, DATE '2015-07-15'),
            (2, CAST(NULL AS STRING), TIMESTAMP '2015-07-15 00:00:05', 0.25, FALSE, DATE '1969-12-31'),
            (3, 'say \"hi\", ok', TIMESTAMP '1969-12-31 23:59:59.9', 100, CAST(NULL AS BOOLEAN), CAST(NULL AS DATE))
        ) AS t(id, name, ts, price, ok, day);",
        table("written", columns, &out, "json", "")
    );
    crate::common::run(&write, 2).unwrap();
    assert!(!read(&out, "json").committed.is_empty());
    let back = format!(
        "{}CREATE TABLE copy ({columns}) WITH ('connector' = 'collect');
        INSERT INTO copy SELECT * FROM again;",
        table("again", columns, &out, "json", "")
    );
    assert_eq!(
        query(&back, 2).unwrap(),
        [
            "+I[1, apple, 2015-07-15T00:00:04.123, 12.50, true, 2015-07-15]",
            "+I[2, NULL, 2015-07-15T00:00:05, 0.25, false, 1969-12-31]",
            "+I[3, say \"hi\", ok, 1969-12-31T23:59:59.900, 100.00, NULL, NULL]",
        ]
    );
}

/// Reads `files` CSV files of `lines` lines each at `parallelism` into the
/// exactly-once `filesystem` sink, checkpointing every 20 ms, with one failure
/// injected in front of the sink after a checkpoint with rows completed; the
/// restarted job restores the source's positions, so the committed files must
/// hold every line once.
fn read_once_across_a_failure(files: usize, lines: usize, parallelism: usize) {
    use crate::filesystem_restart::run_failing_filesystem;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut expected = Vec::with_capacity(files * lines);
    for file in 0..files {
        let mut text = String::with_capacity(lines * 24);
        for line in 0..lines {
            let id = file * lines + line;
            text.push_str(&format!("{id},row {id}\n"));
            expected.push(format!(r#"{{"id":{id},"name":"row {id}"}}"#));
        }
        std::fs::write(data.join(format!("part-{file}.csv")), text).unwrap();
    }
    expected.sort();
    let out = dir.path().join("out");
    let script = format!(
        "{}{}INSERT INTO out SELECT id, name FROM src;",
        table("src", "id BIGINT, name STRING", &data, "csv", ""),
        table("out", "id BIGINT, name STRING", &out, "json", "")
    );
    run_failing_filesystem(script, parallelism);
    let written = read(&out, "json");
    assert!(written.leftovers.is_empty(), "{:?}", written.leftovers);
    let attempts: std::collections::BTreeSet<u64> = written.committed.iter().map(|(part, _)| part.attempt).collect();
    assert!(
        attempts.contains(&0) && attempts.iter().any(|a| *a > 0),
        "committed files of the first attempt and of the restarted one expected, got attempts {attempts:?}"
    );
    let got = written.sorted_lines();
    assert_eq!(got.len(), expected.len(), "rows lost or read twice");
    assert!(got == expected, "the committed rows are not the lines of the files");
}

#[test]
fn a_restored_job_reads_on_from_the_checkpointed_positions_at_parallelism_1() {
    read_once_across_a_failure(1, 400_000, 1);
}

#[test]
fn a_restored_job_reads_on_from_the_checkpointed_positions_at_parallelism_2() {
    read_once_across_a_failure(2, 200_000, 2);
}

/// Change events of `products (id, name, price)`: inserts, a snapshot read, an
/// update and a delete, in two files (a key's changes in one file).
fn debezium_files(dir: &Path) {
    std::fs::write(
        dir.join("a.json"),
        concat!(
            r#"{"before":null,"after":{"id":1,"name":"apple","price":10},"op":"c","ts_ms":1}"#,
            "\n",
            r#"{"before":null,"after":{"id":2,"name":"pear","price":5},"op":"c"}"#,
            "\n\n",
            r#"{"before":{"id":1,"name":"apple","price":10},"after":{"id":1,"name":"apple","price":12},"op":"u"}"#,
            "\n",
            r#"{"before":{"id":2,"name":"pear","price":5},"after":null,"op":"d"}"#,
            "\n",
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("b.json"),
        concat!(
            r#"{"before":null,"after":{"id":3,"name":"fig","price":7},"op":"r"}"#,
            "\n",
            r#"{"before":null,"after":{"id":4,"name":"kiwi","price":1},"op":"c"}"#,
            "\n",
        ),
    )
    .unwrap();
}

const PRODUCT_COLUMNS: &str = "id BIGINT, name STRING, price BIGINT, PRIMARY KEY (id) NOT ENFORCED";

/// The rows changes formatted as `+I[..]` leave (changes of different subtasks
/// in any order; none may be left over), sorted.
fn materialize(changes: &[String]) -> Vec<String> {
    let mut counts: std::collections::BTreeMap<String, i64> = Default::default();
    for change in changes {
        let delta = if change.starts_with('+') { 1 } else { -1 };
        *counts.entry(change[2..].to_string()).or_default() += delta;
    }
    assert!(counts.values().all(|n| *n >= 0), "{counts:?}");
    counts
        .into_iter()
        .flat_map(|(row, n)| std::iter::repeat_n(row, n as usize))
        .collect()
}

#[test]
fn debezium_json_files_are_a_retract_changelog() {
    let dir = tempfile::tempdir().unwrap();
    debezium_files(dir.path());
    let source = table("products", PRODUCT_COLUMNS, dir.path(), "debezium-json", "");
    let script = format!(
        "{source}CREATE TABLE out (id BIGINT, name STRING, price BIGINT) WITH ('connector' = 'collect');
        INSERT INTO out SELECT * FROM products;"
    );
    assert_eq!(
        query(&script, 1).unwrap(),
        [
            "+I[1, apple, 10]",
            "+I[2, pear, 5]",
            "+I[3, fig, 7]",
            "+I[4, kiwi, 1]",
            "+U[1, apple, 12]",
            "-D[2, pear, 5]",
            "-U[1, apple, 10]",
        ]
    );
    let totals = format!(
        "{source}CREATE TABLE out (products BIGINT, total BIGINT) WITH ('connector' = 'collect');
        INSERT INTO out SELECT COUNT(*), SUM(price) FROM products WHERE price > 1;"
    );
    let by_name = format!(
        "{source}CREATE TABLE out (name STRING, total BIGINT) WITH ('connector' = 'collect');
        INSERT INTO out SELECT name, SUM(price) FROM products GROUP BY name;"
    );
    for parallelism in [1, 2] {
        assert_eq!(materialize(&query(&totals, parallelism).unwrap()), ["[2, 19]"]);
        assert_eq!(
            materialize(&query(&by_name, parallelism).unwrap()),
            ["[apple, 12]", "[fig, 7]", "[kiwi, 1]"]
        );
    }
}

#[test]
fn bad_change_events_and_changelog_misuse_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("changes.json");
    let script = |columns: &str| {
        format!(
            "{}CREATE TABLE out (id BIGINT, name STRING) WITH ('connector' = 'collect');
            INSERT INTO out SELECT id, name FROM src;",
            table("src", columns, &file, "debezium-json", "")
        )
    };
    for (event, expected) in [
        (r#"{"before":null,"after":{"id":1},"op":"u"}"#, "REPLICA IDENTITY FULL"),
        (r#"{"before":null,"after":null,"op":"c"}"#, "`after`"),
        (r#"{"after":{"id":1},"op":"x"}"#, "unknown `op` 'x'"),
        (r#"{"after":{"id":1}}"#, "no `op`"),
        (r#"{"after":[1],"op":"c"}"#, "`after` is array"),
    ] {
        std::fs::write(
            &file,
            format!("{{\"before\":null,\"after\":{{\"id\":0}},\"op\":\"c\"}}\n{event}\n"),
        )
        .unwrap();
        let error = query(&script("id BIGINT, name STRING"), 1).unwrap_err();
        assert!(
            error.contains(expected) && error.contains("line 2") && error.contains(&file.display().to_string()),
            "'{expected}' not in: {error}"
        );
    }
    // Skipped with debezium-json.ignore-parse-errors.
    std::fs::write(
        &file,
        "{\"after\":{\"id\":1,\"name\":\"a\"},\"op\":\"c\"}\n{\"op\":\"u\"}\n",
    )
    .unwrap();
    let lenient = format!(
        "{}CREATE TABLE out (id BIGINT, name STRING) WITH ('connector' = 'collect');
        INSERT INTO out SELECT id, name FROM src;",
        table(
            "src",
            "id BIGINT, name STRING",
            &file,
            "debezium-json",
            ", 'debezium-json.ignore-parse-errors' = 'true'"
        )
    );
    assert_eq!(query(&lenient, 1).unwrap(), ["+I[1, a]"]);
    // A changelog into a sink of inserts only, and as a lookup table.
    let into_files = format!(
        "{}CREATE TABLE out (id BIGINT, name STRING) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json');
        INSERT INTO out SELECT id, name FROM src;",
        table("src", "id BIGINT, name STRING", &file, "debezium-json", ""),
        dir.path().join("out").display()
    );
    let error = query(&into_files, 1).unwrap_err();
    assert!(error.contains("cannot take the retract changelog"), "{error}");
    let def = table_def(
        &table("src", "id BIGINT, name STRING", &file, "debezium-json", ""),
        "src",
    );
    let error = FilesystemSqlSource
        .lookup_loader(&def)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(error.contains("'format'") && error.contains("changelog"), "{error}");
}
