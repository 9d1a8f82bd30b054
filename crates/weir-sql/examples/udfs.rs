//! Rust functions in Weir SQL: an aggregate function (a weighted average) and a
//! table function (splitting text into words), registered on a session and called
//! from a script.
//!
//! ```sh
//! cargo run --release -p weir-sql --example udfs
//! ```

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListArray, StringArray, StructArray};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, Fields, Float64Type};
use weir_datastream::StreamExecutionEnvironment;
use weir_sql::connectors::builtin;
use weir_sql::datafusion::common::{Result, ScalarValue};
use weir_sql::datafusion::logical_expr::{
    create_udaf, create_udf, Accumulator, AggregateUDF, ColumnarValue, ScalarUDF, Volatility,
};
use weir_sql::script::SqlSession;

/// `weighted_avg(value DOUBLE, weight DOUBLE)`: Σ value·weight / Σ weight. Its state
/// (the two sums) is what Weir keeps per group; it can take rows back, so it also
/// works over updating input.
#[derive(Debug, Default)]
struct WeightedAvg {
    sum: f64,
    weights: f64,
}

impl WeightedAvg {
    fn add(&mut self, values: &[ArrayRef], sign: f64) {
        let (v, w) = (
            values[0].as_primitive::<Float64Type>(),
            values[1].as_primitive::<Float64Type>(),
        );
        for i in 0..v.len() {
            if v.is_valid(i) && w.is_valid(i) {
                self.sum += sign * v.value(i) * w.value(i);
                self.weights += sign * w.value(i);
            }
        }
    }
}

impl Accumulator for WeightedAvg {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add(values, 1.0);
        Ok(())
    }
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add(values, -1.0);
        Ok(())
    }
    fn supports_retract_batch(&self) -> bool {
        true
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (sums, weights) = (
            states[0].as_primitive::<Float64Type>(),
            states[1].as_primitive::<Float64Type>(),
        );
        for i in 0..sums.len() {
            self.sum += sums.value(i);
            self.weights += weights.value(i);
        }
        Ok(())
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::from(self.sum), ScalarValue::from(self.weights)])
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Float64(
            (self.weights != 0.0).then(|| self.sum / self.weights),
        ))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
}

fn weighted_avg() -> AggregateUDF {
    create_udaf(
        "weighted_avg",
        vec![DataType::Float64, DataType::Float64],
        Arc::new(DataType::Float64),
        Volatility::Immutable,
        Arc::new(|_| Ok(Box::new(WeightedAvg::default()))),
        Arc::new(vec![DataType::Float64, DataType::Float64]),
    )
}

/// `split_words(text STRING)`: a row `(word, length)` per word, as a list of
/// structs per input row.
fn split_words() -> ScalarUDF {
    let fields = Fields::from(vec![
        Field::new("word", DataType::Utf8, false),
        Field::new("length", DataType::Int64, false),
    ]);
    let element = Arc::new(Field::new("item", DataType::Struct(fields.clone()), true));
    create_udf(
        "split_words",
        vec![DataType::Utf8],
        DataType::List(element.clone()),
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let input = ColumnarValue::values_to_arrays(args)?;
            let texts = input[0].as_string::<i32>();
            let (mut words, mut lengths, mut offsets) = (Vec::new(), Vec::new(), vec![0i32]);
            for text in texts.iter() {
                for word in text.unwrap_or("").split_whitespace() {
                    words.push(word.to_string());
                    lengths.push(word.len() as i64);
                }
                offsets.push(words.len() as i32);
            }
            let rows = StructArray::new(
                fields.clone(),
                vec![
                    Arc::new(StringArray::from(words)) as ArrayRef,
                    Arc::new(Int64Array::from(lengths)),
                ],
                None,
            );
            let nulls = NullBuffer::from(texts.iter().map(|t| t.is_some()).collect::<Vec<_>>());
            Ok(ColumnarValue::Array(Arc::new(ListArray::new(
                element.clone(),
                OffsetBuffer::new(offsets.into()),
                Arc::new(rows),
                Some(nulls),
            ))))
        }),
    )
}

const SCRIPT: &str = "
CREATE FUNCTION words AS 'example.SplitWords';

-- An aggregate function in an updating GROUP BY.
SELECT category, weighted_avg(price, quantity) AS avg_price
FROM (VALUES ('fruit', 2.0, 10.0), ('fruit', 4.0, 30.0), ('bread', 3.5, 1.0)) AS sales(category, price, quantity)
GROUP BY category;

-- A table function: one row per word; LEFT JOIN ... ON TRUE keeps the empty text.
SELECT t.id, w.word, w.length
FROM (VALUES (1, 'stream processing'), (2, '')) AS t(id, text)
LEFT JOIN LATERAL TABLE(words(t.text)) AS w(word, length) ON TRUE;
";

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let mut session = SqlSession::new(builtin());
    session.register_aggregate_function("example.WeightedAvg", weighted_avg());
    session.register_table_function("example.SplitWords", split_words())?;
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(1);
    let outcome = session.run_script(&env, SCRIPT)?;
    for message in outcome.messages {
        println!("-- {message}");
    }
    // The queries' rows are printed as changelogs (+I[...], -U[...], +U[...]).
    env.execute("udfs example")?;
    Ok(())
}
