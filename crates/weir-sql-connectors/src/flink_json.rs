//! The values arrow-json writes differently from Flink's `json` format, written
//! Flink's way: an [`EncoderFactory`] for arrow-json's encoders.
//!
//! | type | written as |
//! | --- | --- |
//! | `TIMESTAMP` | `"2015-07-15 00:00:04.123"` (`'SQL'` standard, the default) or `"2015-07-15T00:00:04.123"` (`'ISO-8601'`) |
//! | `TIMESTAMP_LTZ` | the same in UTC with a `Z`: `"2015-07-15 00:00:04.123Z"` |
//! | `TIME` | `"00:00:04.123"` |
//! | `BINARY`, `VARBINARY`, `BYTES` | base64 (`"AQI="`) |
//!
//! Fractions of seconds have as many digits as they need (`.1`, `.123`, none
//! for whole seconds), as Java's `appendFraction(NANO_OF_SECOND, 0, 9, true)`
//! that Flink formats with. Every other type is left to arrow-json: numbers,
//! `DECIMAL` as a JSON number with its scale (`12.50`), `DATE` as `"2015-07-15"`,
//! `ROW` as an object, `ARRAY` as an array, `MAP` as an object.

use arrow::array::{Array, AsArray, BinaryViewArray, FixedSizeBinaryArray, GenericBinaryArray, OffsetSizeTrait};
use arrow::datatypes::{
    DataType, FieldRef, Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use arrow::error::ArrowError;
use arrow_json::writer::{Encoder, EncoderFactory, EncoderOptions, NullableEncoder};
use chrono::{Datelike, Timelike};

/// How timestamps are written (Flink's `json.timestamp-format.standard`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampStandard {
    /// `2015-07-15 00:00:04.123` (Flink's default).
    #[default]
    Sql,
    /// `2015-07-15T00:00:04.123`.
    Iso8601,
}

impl TimestampStandard {
    /// The option values, as Flink spells them.
    pub const NAMES: [&'static str; 2] = ["SQL", "ISO-8601"];

    /// The standard named `name` (one of [`NAMES`](Self::NAMES), any case).
    pub fn from_name(name: &str) -> Option<TimestampStandard> {
        if name.eq_ignore_ascii_case("SQL") {
            Some(TimestampStandard::Sql)
        } else if name.eq_ignore_ascii_case("ISO-8601") {
            Some(TimestampStandard::Iso8601)
        } else {
            None
        }
    }
}

/// Makes the encoders of the values Flink writes differently from arrow-json.
#[derive(Debug, Clone, Copy, Default)]
pub struct FlinkValues {
    /// How timestamps are written.
    pub timestamps: TimestampStandard,
}

impl EncoderFactory for FlinkValues {
    fn make_default_encoder<'a>(
        &self,
        _field: &'a FieldRef,
        array: &'a dyn Array,
        _options: &'a EncoderOptions,
    ) -> Result<Option<NullableEncoder<'a>>, ArrowError> {
        let nulls = array.nulls().cloned();
        let encoder: Box<dyn Encoder + 'a> = match array.data_type() {
            DataType::Timestamp(unit, zone) => {
                let values: &[i64] = match unit {
                    TimeUnit::Second => &array.as_primitive::<TimestampSecondType>().values()[..],
                    TimeUnit::Millisecond => &array.as_primitive::<TimestampMillisecondType>().values()[..],
                    TimeUnit::Microsecond => &array.as_primitive::<TimestampMicrosecondType>().values()[..],
                    TimeUnit::Nanosecond => &array.as_primitive::<TimestampNanosecondType>().values()[..],
                };
                Box::new(TimestampEncoder {
                    values,
                    nanos_per_unit: nanos_per(*unit),
                    separator: match self.timestamps {
                        TimestampStandard::Sql => b' ',
                        TimestampStandard::Iso8601 => b'T',
                    },
                    utc: zone.is_some(),
                })
            }
            DataType::Time32(TimeUnit::Second) => Box::new(TimeEncoder::new(
                &array.as_primitive::<Time32SecondType>().values()[..],
                TimeUnit::Second,
            )),
            DataType::Time32(_) => Box::new(TimeEncoder::new(
                &array.as_primitive::<Time32MillisecondType>().values()[..],
                TimeUnit::Millisecond,
            )),
            DataType::Time64(TimeUnit::Nanosecond) => Box::new(TimeEncoder::new(
                &array.as_primitive::<Time64NanosecondType>().values()[..],
                TimeUnit::Nanosecond,
            )),
            DataType::Time64(_) => Box::new(TimeEncoder::new(
                &array.as_primitive::<Time64MicrosecondType>().values()[..],
                TimeUnit::Microsecond,
            )),
            DataType::Binary => Box::new(Base64Encoder(array.as_binary::<i32>())),
            DataType::LargeBinary => Box::new(Base64Encoder(array.as_binary::<i64>())),
            DataType::BinaryView => Box::new(Base64Encoder(array.as_binary_view())),
            DataType::FixedSizeBinary(_) => Box::new(Base64Encoder(array.as_fixed_size_binary())),
            _ => return Ok(None),
        };
        Ok(Some(NullableEncoder::new(encoder, nulls)))
    }
}

fn nanos_per(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

/// Appends `HH:mm:ss` and the fraction of `nanos` without trailing zeros.
fn write_time(out: &mut Vec<u8>, hour: u32, minute: u32, second: u32, nanos: u32) {
    two_digits(out, hour);
    out.push(b':');
    two_digits(out, minute);
    out.push(b':');
    two_digits(out, second);
    if nanos > 0 {
        let mut digits = *b"000000000";
        let mut rest = nanos;
        for digit in digits.iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        let len = digits.iter().rposition(|d| *d != b'0').map_or(0, |last| last + 1);
        out.push(b'.');
        out.extend_from_slice(&digits[..len]);
    }
}

fn two_digits(out: &mut Vec<u8>, value: u32) {
    out.push(b'0' + (value / 10 % 10) as u8);
    out.push(b'0' + (value % 10) as u8);
}

/// Timestamps as Flink's JSON format writes them.
struct TimestampEncoder<'a> {
    values: &'a [i64],
    nanos_per_unit: i64,
    separator: u8,
    /// `TIMESTAMP_LTZ`: a UTC instant, written with a `Z`.
    utc: bool,
}

impl Encoder for TimestampEncoder<'_> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        let value = self.values.get(idx).copied().unwrap_or_default();
        let units_per_second = 1_000_000_000 / self.nanos_per_unit;
        let seconds = value.div_euclid(units_per_second);
        let nanos = value.rem_euclid(units_per_second) * self.nanos_per_unit;
        let Some(time) = u32::try_from(nanos)
            .ok()
            .and_then(|nanos| chrono::DateTime::from_timestamp(seconds, nanos))
        else {
            // Beyond chrono's range (±262 000 years): no calendar date to write.
            out.extend_from_slice(b"null");
            return;
        };
        let time = time.naive_utc();
        out.push(b'"');
        let year = time.year();
        if (0..=9999).contains(&year) {
            let year = year as u32;
            two_digits(out, year / 100);
            two_digits(out, year % 100);
        } else {
            // As java.time writes years beyond four digits.
            let _ = std::io::Write::write_fmt(out, format_args!("{year:+}"));
        }
        out.push(b'-');
        two_digits(out, time.month());
        out.push(b'-');
        two_digits(out, time.day());
        out.push(self.separator);
        write_time(out, time.hour(), time.minute(), time.second(), time.nanosecond());
        if self.utc {
            out.push(b'Z');
        }
        out.push(b'"');
    }
}

/// Times of day as `"HH:mm:ss[.fraction]"`.
struct TimeEncoder<'a, N> {
    values: &'a [N],
    nanos_per_unit: i64,
}

impl<'a, N> TimeEncoder<'a, N> {
    fn new(values: &'a [N], unit: TimeUnit) -> Self {
        TimeEncoder {
            values,
            nanos_per_unit: nanos_per(unit),
        }
    }
}

impl<N: Copy + Into<i64> + Default> Encoder for TimeEncoder<'_, N> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        const DAY: i64 = 86_400 * 1_000_000_000;
        let value: i64 = self.values.get(idx).copied().unwrap_or_default().into();
        let nanos = value.saturating_mul(self.nanos_per_unit).rem_euclid(DAY);
        let seconds = nanos / 1_000_000_000;
        out.push(b'"');
        write_time(
            out,
            (seconds / 3600) as u32,
            (seconds / 60 % 60) as u32,
            (seconds % 60) as u32,
            (nanos % 1_000_000_000) as u32,
        );
        out.push(b'"');
    }
}

/// The values of a binary array.
trait BinaryValues {
    fn bytes(&self, idx: usize) -> &[u8];
}

impl<O: OffsetSizeTrait> BinaryValues for GenericBinaryArray<O> {
    fn bytes(&self, idx: usize) -> &[u8] {
        self.value(idx)
    }
}

impl BinaryValues for BinaryViewArray {
    fn bytes(&self, idx: usize) -> &[u8] {
        self.value(idx)
    }
}

impl BinaryValues for FixedSizeBinaryArray {
    fn bytes(&self, idx: usize) -> &[u8] {
        self.value(idx)
    }
}

/// Binary strings as base64 (standard alphabet, padded), as Jackson writes
/// Flink's binary nodes.
struct Base64Encoder<'a, A>(&'a A);

impl<A: BinaryValues> Encoder for Base64Encoder<'_, A> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        out.push(b'"');
        base64(self.0.bytes(idx), out);
        out.push(b'"');
    }
}

/// Appends the base64 encoding of `bytes` (RFC 4648, with padding).
fn base64(bytes: &[u8], out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> shift & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        base64(bytes, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn base64_is_rfc_4648() {
        assert_eq!(b64(b""), "");
        assert_eq!(b64(b"f"), "Zg==");
        assert_eq!(b64(b"fo"), "Zm8=");
        assert_eq!(b64(b"foo"), "Zm9v");
        assert_eq!(b64(b"foob"), "Zm9vYg==");
        assert_eq!(b64(b"fooba"), "Zm9vYmE=");
        assert_eq!(b64(b"foobar"), "Zm9vYmFy");
        assert_eq!(b64(&[0xff, 0xfe, 0x01]), "//4B");
    }

    fn time(nanos: u32) -> String {
        let mut out = Vec::new();
        write_time(&mut out, 7, 5, 9, nanos);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn fractions_have_the_digits_they_need() {
        assert_eq!(time(0), "07:05:09");
        assert_eq!(time(100_000_000), "07:05:09.1");
        assert_eq!(time(123_000_000), "07:05:09.123");
        assert_eq!(time(123_400_000), "07:05:09.1234");
        assert_eq!(time(1), "07:05:09.000000001");
    }
}
