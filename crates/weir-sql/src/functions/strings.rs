//! Flink's string functions DataFusion lacks, `SPLIT_INDEX` and
//! `REGEXP_EXTRACT`, and Flink's `CONCAT` (NULL if any argument is NULL, where
//! DataFusion's skips NULLs).

use std::sync::Arc;

use arrow::array::{ArrayRef, StringBuilder};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use regex::Regex;

use super::args::{check_count, integer_arg, result, result_rows, string_arg, Ints, Strings};
use super::cache::LiteralCache;

/// Field `index` (0-based) of `text` split at every `separator`, keeping empty
/// fields; an empty separator splits at whitespace, and empty text has no
/// fields (as Flink's `StringUtils.splitByWholeSeparatorPreserveAllTokens`).
pub fn split_index<'a>(text: &'a str, separator: &str, index: i64) -> Option<&'a str> {
    let index = usize::try_from(index).ok()?;
    if text.is_empty() {
        None
    } else if separator.is_empty() {
        text.split(char::is_whitespace).nth(index)
    } else {
        text.split(separator).nth(index)
    }
}

/// `SPLIT_INDEX(str, separator, index)`: the `index`-th (0-based) field of `str`
/// split by `separator`; NULL if `index` is negative or past the last field, or
/// any argument is NULL.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SplitIndex {
    signature: Signature,
}

impl SplitIndex {
    /// The function.
    pub fn new() -> Self {
        SplitIndex {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for SplitIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for SplitIndex {
    fn name(&self) -> &str {
        "split_index"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        const NAME: &str = "SPLIT_INDEX";
        check_count(NAME, types, 3, 3)?;
        Ok(vec![
            string_arg(NAME, 1, &types[0])?,
            string_arg(NAME, 2, &types[1])?,
            integer_arg(NAME, 3, &types[2])?,
        ])
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [text, separator, index] = args.args.as_slice() else {
            return exec_err!("SPLIT_INDEX takes 3 arguments, got {}", args.args.len());
        };
        let rows = result_rows(&args.args, args.number_rows);
        let (text, separator, index) = (Strings::new(text)?, Strings::new(separator)?, Ints::new(index)?);
        let mut builder = StringBuilder::with_capacity(rows, rows * 8);
        for row in 0..rows {
            match (text.get(row), separator.get(row), index.get(row)) {
                (Some(t), Some(s), Some(i)) => builder.append_option(split_index(t, s, i)),
                _ => builder.append_null(),
            }
        }
        let out: ArrayRef = Arc::new(builder.finish());
        result(&args.args, out)
    }
}

/// Group `index` of the first match of `regex` in `text` (0: the whole match);
/// `None` without a match, for a group that did not take part in the match, and
/// for an index that is negative or greater than the number of groups.
pub fn regexp_extract<'a>(regex: &Regex, text: &'a str, index: i64) -> Option<&'a str> {
    let index = usize::try_from(index).ok()?;
    if index >= regex.captures_len() {
        return None;
    }
    regex.captures(text)?.get(index).map(|m| m.as_str())
}

/// `REGEXP_EXTRACT(str, regex [, extractIndex])`: group `extractIndex` (default 0,
/// the whole match) of the first match of `regex` in `str`; NULL if there is no
/// match, the index is out of range, the regex is invalid (Flink logs and returns
/// NULL) or any argument is NULL. The regex is Rust's `regex` syntax: Java's
/// look-around and back-references are invalid here.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RegexpExtract {
    signature: Signature,
    regexes: LiteralCache<Option<Regex>>,
}

impl RegexpExtract {
    /// The function.
    pub fn new() -> Self {
        RegexpExtract {
            signature: Signature::user_defined(Volatility::Immutable),
            regexes: LiteralCache::new(),
        }
    }
}

impl Default for RegexpExtract {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for RegexpExtract {
    fn name(&self) -> &str {
        "regexp_extract"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        const NAME: &str = "REGEXP_EXTRACT";
        check_count(NAME, types, 2, 3)?;
        let mut coerced = vec![string_arg(NAME, 1, &types[0])?, string_arg(NAME, 2, &types[1])?];
        if let Some(index) = types.get(2) {
            coerced.push(integer_arg(NAME, 3, index)?);
        }
        Ok(coerced)
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (text, pattern, index) = match args.args.as_slice() {
            [t, p] => (Strings::new(t)?, Strings::new(p)?, Ints::Scalar(Some(0))),
            [t, p, i] => (Strings::new(t)?, Strings::new(p)?, Ints::new(i)?),
            other => return exec_err!("REGEXP_EXTRACT takes 2 or 3 arguments, got {}", other.len()),
        };
        let rows = result_rows(&args.args, args.number_rows);
        let mut builder = StringBuilder::with_capacity(rows, rows * 8);
        let mut last: Option<(&str, Arc<Option<Regex>>)> = None;
        for row in 0..rows {
            let (Some(t), Some(p), Some(i)) = (text.get(row), pattern.get(row), index.get(row)) else {
                builder.append_null();
                continue;
            };
            let regex = match &last {
                Some((text, regex)) if *text == p => regex.clone(),
                _ => {
                    let regex = self.regexes.get(p, |p| Regex::new(p).ok());
                    last = Some((p, regex.clone()));
                    regex
                }
            };
            builder.append_option(regex.as_ref().as_ref().and_then(|r| regexp_extract(r, t, i)));
        }
        let out: ArrayRef = Arc::new(builder.finish());
        result(&args.args, out)
    }
}

/// `CONCAT(a, b, ...)`: the arguments one after the other as `STRING`; NULL if
/// any argument is NULL. Non-text arguments are cast to text.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Concat {
    signature: Signature,
}

impl Concat {
    /// The function.
    pub fn new() -> Self {
        Concat {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for Concat {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for Concat {
    fn name(&self) -> &str {
        "concat"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        if types.is_empty() {
            return plan_err!("CONCAT takes at least 1 argument");
        }
        if let Some(t) = types.iter().find(|t| t.is_nested()) {
            return plan_err!("CONCAT: cannot concatenate {t}");
        }
        Ok(vec![DataType::Utf8; types.len()])
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let nullable = args.arg_fields.iter().any(|f| f.is_nullable());
        Ok(Arc::new(Field::new(self.name(), DataType::Utf8, nullable)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let parts = args.args.iter().map(Strings::new).collect::<Result<Vec<_>>>()?;
        let rows = result_rows(&args.args, args.number_rows);
        let mut builder = StringBuilder::with_capacity(rows, rows * 8 * parts.len());
        let mut buffer = String::new();
        'rows: for row in 0..rows {
            buffer.clear();
            for part in &parts {
                let Some(text) = part.get(row) else {
                    builder.append_null();
                    continue 'rows;
                };
                buffer.push_str(text);
            }
            builder.append_value(&buffer);
        }
        let out: ArrayRef = Arc::new(builder.finish());
        result(&args.args, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::args::{invoke, literal, strings};
    use arrow::array::{Int64Array, StringArray};
    use datafusion::common::ScalarValue;

    fn int(i: i64) -> ColumnarValue {
        ColumnarValue::Scalar(ScalarValue::Int64(Some(i)))
    }

    fn column(values: &[Option<&str>]) -> ColumnarValue {
        ColumnarValue::Array(Arc::new(StringArray::from(values.to_vec())))
    }

    #[test]
    fn split_index_follows_flink() {
        assert_eq!(split_index("a/b//c", "/", 0), Some("a"));
        assert_eq!(split_index("a/b//c", "/", 2), Some(""));
        assert_eq!(split_index("a/b//c", "/", 3), Some("c"));
        assert_eq!(split_index("a/b//c", "/", 4), None);
        assert_eq!(split_index("a/b//c", "/", -1), None);
        assert_eq!(split_index("a::b", "::", 1), Some("b"));
        assert_eq!(split_index("a b", "", 1), Some("b"));
        assert_eq!(split_index("", "/", 0), None);
        assert_eq!(split_index("abc", "/", 0), Some("abc"));
    }

    #[test]
    fn split_index_on_arrays_with_nulls() {
        let f = SplitIndex::new();
        let urls = column(&[Some("https://www.nexmark.com/a/b/item.htm"), None, Some("x")]);
        let out = invoke(&f, vec![urls, literal("/"), int(3)], 3).unwrap();
        assert_eq!(strings(out), vec![Some("a".to_string()), None, None]);
        let indexes = ColumnarValue::Array(Arc::new(Int64Array::from(vec![Some(0), None, Some(-2)])));
        let out = invoke(&f, vec![literal("p,q"), literal(","), indexes], 3).unwrap();
        assert_eq!(strings(out), vec![Some("p".to_string()), None, None]);
        let null = ColumnarValue::Scalar(ScalarValue::Utf8(None));
        let out = invoke(&f, vec![literal("p,q"), null, int(0)], 3).unwrap();
        assert!(matches!(out, ColumnarValue::Scalar(ScalarValue::Utf8(None))));
    }

    #[test]
    fn split_index_checks_its_arguments() {
        let f = SplitIndex::new();
        assert_eq!(
            f.coerce_types(&[DataType::Utf8View, DataType::Utf8, DataType::Int32])
                .unwrap(),
            vec![DataType::Utf8, DataType::Utf8, DataType::Int64]
        );
        let error = f
            .coerce_types(&[DataType::Utf8, DataType::Utf8, DataType::Utf8])
            .unwrap_err()
            .to_string();
        assert!(error.contains("SPLIT_INDEX: argument 3 must be an integer"), "{error}");
        assert!(f.coerce_types(&[DataType::Utf8, DataType::Utf8]).is_err());
    }

    #[test]
    fn regexp_extract_follows_flink() {
        let r = Regex::new("foo(.*?)(bar)").unwrap();
        assert_eq!(regexp_extract(&r, "foothebar", 2), Some("bar"));
        assert_eq!(regexp_extract(&r, "foothebar", 1), Some("the"));
        assert_eq!(regexp_extract(&r, "xfoothebarx", 0), Some("foothebar"));
        assert_eq!(regexp_extract(&r, "foothebar", 3), None);
        assert_eq!(regexp_extract(&r, "foothebar", -1), None);
        assert_eq!(regexp_extract(&r, "nothing", 1), None);
        let optional = Regex::new("a(x)?b").unwrap();
        assert_eq!(regexp_extract(&optional, "ab", 1), None);
    }

    #[test]
    fn regexp_extract_on_arrays_with_nulls_and_bad_regexes() {
        let f = RegexpExtract::new();
        let urls = column(&[
            Some("https://n.com/x?channel_id=42&a=b"),
            Some("https://n.com/x?a=b"),
            None,
        ]);
        let out = invoke(
            &f,
            vec![urls.clone(), literal("(&|^|\\?)channel_id=([^&]*)"), int(2)],
            3,
        )
        .unwrap();
        assert_eq!(strings(out), vec![Some("42".to_string()), None, None]);
        // The default index is 0: the whole match.
        let out = invoke(&f, vec![urls.clone(), literal("a=[a-z]")], 3).unwrap();
        assert_eq!(
            strings(out),
            vec![Some("a=b".to_string()), Some("a=b".to_string()), None]
        );
        // An invalid regex gives NULL, as in Flink.
        let out = invoke(&f, vec![urls, literal("(unclosed"), int(1)], 3).unwrap();
        assert_eq!(strings(out), vec![None, None, None]);
        // A regex per row.
        let patterns = column(&[Some("b+"), Some("[")]);
        let out = invoke(&f, vec![literal("abbc"), patterns], 2).unwrap();
        assert_eq!(strings(out), vec![Some("bb".to_string()), None]);
        assert!(f.coerce_types(&[DataType::Utf8, DataType::Int64]).is_err());
    }

    #[test]
    fn concat_is_null_if_any_argument_is() {
        let f = Concat::new();
        let names = column(&[Some("a"), None, Some("c")]);
        let out = invoke(&f, vec![names, literal("-"), literal("x")], 3).unwrap();
        assert_eq!(
            strings(out),
            vec![Some("a-x".to_string()), None, Some("c-x".to_string())]
        );
        let null = ColumnarValue::Scalar(ScalarValue::Utf8(None));
        let out = invoke(&f, vec![literal("a"), null], 1).unwrap();
        assert!(matches!(out, ColumnarValue::Scalar(ScalarValue::Utf8(None))));
        assert_eq!(
            f.coerce_types(&[DataType::Utf8, DataType::Int64]).unwrap(),
            vec![DataType::Utf8, DataType::Utf8]
        );
        assert!(f.coerce_types(&[]).is_err());
    }
}
