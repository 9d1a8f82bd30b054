//! [`JavaPattern`]: a Java date-time pattern (`DateTimeFormatter`/`SimpleDateFormat`
//! letters, as Flink's `DATE_FORMAT`, `FROM_UNIXTIME` and `UNIX_TIMESTAMP` take
//! them) translated once into chrono format items.
//!
//! | letters | meaning | chrono |
//! | --- | --- | --- |
//! | `yyyy`, `yy`, `y` | year, two-digit year, year unpadded | `%Y`, `%y`, `%-Y`-like |
//! | `MM`, `M`, `MMM`, `MMMM` | month, unpadded, `Jan`, `January` | `%m`, `%-m`, `%b`, `%B` |
//! | `dd`, `d` | day of month | `%d`, `%-d` |
//! | `HH`, `H`, `hh`, `h` | hour 0-23, hour 1-12 | `%H`, `%-H`, `%I`, `%-I` |
//! | `mm`, `m`, `ss`, `s` | minute, second | `%M`, `%-M`, `%S`, `%-S` |
//! | `S` to `SSSSSSSSS` | fraction of the second, truncated to that many digits (`SSS`: milliseconds) | `%3f` (any width) |
//! | `a` | `AM`/`PM` | `%p` |
//! | `E`, `EEE`, `EEEE` | `Mon`, `Monday` | `%a`, `%A` |
//! | `'text'`, `''` | literal text, a quote | |
//!
//! Other letters are errors that name the letter; any other character is literal.

use std::fmt::Write;

use chrono::format::{Fixed, Item, Numeric, Pad, Parsed, StrftimeItems};
use chrono::{NaiveDateTime, Timelike};

/// Why a pattern cannot be translated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// A letter this translation does not support.
    #[error("unsupported letter '{letter}' in date-time pattern '{pattern}'")]
    UnsupportedLetter {
        /// The letter.
        letter: char,
        /// The whole pattern.
        pattern: String,
    },
    /// A letter repeated more often than Java allows.
    #[error("too many letters '{letter}' ({count}) in date-time pattern '{pattern}'")]
    TooMany {
        /// The letter.
        letter: char,
        /// How often it is repeated.
        count: usize,
        /// The whole pattern.
        pattern: String,
    },
    /// A quote that is not closed.
    #[error("unterminated quote in date-time pattern '{0}'")]
    UnterminatedQuote(String),
}

/// A translated pattern.
#[derive(Debug, Clone)]
pub struct JavaPattern {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
enum Piece {
    /// chrono items, formatted in one go.
    Items(Vec<Item<'static>>),
    /// The fraction of the second, truncated to this many digits (1 to 9).
    Fraction(usize),
}

enum Token {
    Item(Item<'static>),
    Fraction(usize),
}

fn token(letter: char, count: usize, pattern: &str) -> Result<Token, PatternError> {
    let too_many = || PatternError::TooMany {
        letter,
        count,
        pattern: pattern.to_string(),
    };
    let numeric = |n: Numeric, max: usize| {
        if count > max {
            Err(too_many())
        } else {
            Ok(Token::Item(Item::Numeric(
                n,
                if count == 1 { Pad::None } else { Pad::Zero },
            )))
        }
    };
    match letter {
        'y' => Ok(Token::Item(match count {
            2 => Item::Numeric(Numeric::YearMod100, Pad::Zero),
            1 | 3 => Item::Numeric(Numeric::Year, Pad::None),
            _ => Item::Numeric(Numeric::Year, Pad::Zero),
        })),
        'M' => match count {
            1 | 2 => numeric(Numeric::Month, 2),
            3 => Ok(Token::Item(Item::Fixed(Fixed::ShortMonthName))),
            4 => Ok(Token::Item(Item::Fixed(Fixed::LongMonthName))),
            _ => Err(too_many()),
        },
        'd' => numeric(Numeric::Day, 2),
        'H' => numeric(Numeric::Hour, 2),
        'h' => numeric(Numeric::Hour12, 2),
        'm' => numeric(Numeric::Minute, 2),
        's' => numeric(Numeric::Second, 2),
        'S' if count <= 9 => Ok(Token::Fraction(count)),
        'S' => Err(too_many()),
        'a' if count == 1 => Ok(Token::Item(Item::Fixed(Fixed::UpperAmPm))),
        'a' => Err(too_many()),
        'E' => match count {
            1..=3 => Ok(Token::Item(Item::Fixed(Fixed::ShortWeekdayName))),
            4 => Ok(Token::Item(Item::Fixed(Fixed::LongWeekdayName))),
            _ => Err(too_many()),
        },
        _ => Err(PatternError::UnsupportedLetter {
            letter,
            pattern: pattern.to_string(),
        }),
    }
}

impl JavaPattern {
    /// Translates `pattern`.
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut pieces = Vec::new();
        let mut items: Vec<Item<'static>> = Vec::new();
        let mut literal = String::new();
        let flush_literal = |literal: &mut String, items: &mut Vec<Item<'static>>| {
            if !literal.is_empty() {
                items.push(Item::OwnedLiteral(std::mem::take(literal).into_boxed_str()));
            }
        };
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    literal.push('\'');
                    i += 2;
                    continue;
                }
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(PatternError::UnterminatedQuote(pattern.to_string())),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            literal.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&other) => {
                            literal.push(other);
                            i += 1;
                        }
                    }
                }
            } else if c.is_ascii_alphabetic() {
                let count = chars[i..].iter().take_while(|&&x| x == c).count();
                flush_literal(&mut literal, &mut items);
                match token(c, count, pattern)? {
                    Token::Item(item) => items.push(item),
                    Token::Fraction(digits) => {
                        if !items.is_empty() {
                            pieces.push(Piece::Items(std::mem::take(&mut items)));
                        }
                        pieces.push(Piece::Fraction(digits));
                    }
                }
                i += count;
            } else {
                literal.push(c);
                i += 1;
            }
        }
        flush_literal(&mut literal, &mut items);
        if !items.is_empty() {
            pieces.push(Piece::Items(items));
        }
        Ok(JavaPattern { pieces })
    }

    /// Appends `time` in this pattern to `out`.
    pub fn format(&self, time: &NaiveDateTime, out: &mut String) -> std::fmt::Result {
        for piece in &self.pieces {
            match piece {
                Piece::Items(items) => write!(out, "{}", time.format_with_items(items.iter()))?,
                Piece::Fraction(digits) => {
                    let nanos = time.nanosecond() % 1_000_000_000;
                    let exponent = u32::try_from(9 - digits).unwrap_or(0);
                    write!(out, "{:0width$}", nanos / 10u32.pow(exponent), width = digits)?;
                }
            }
        }
        Ok(())
    }

    /// `text` read in this pattern; fields the pattern lacks are those of
    /// 1970-01-01 00:00:00 (as Java's formatters resolve them). `None` if `text`
    /// does not match, or the pattern has a fraction other than 3, 6 or 9 digits.
    pub fn parse(&self, text: &str) -> Option<NaiveDateTime> {
        let mut items = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Items(i) => items.extend(i.iter().cloned()),
                Piece::Fraction(3) => items.extend(StrftimeItems::new("%3f")),
                Piece::Fraction(6) => items.extend(StrftimeItems::new("%6f")),
                Piece::Fraction(9) => items.extend(StrftimeItems::new("%9f")),
                Piece::Fraction(_) => return None,
            }
        }
        let mut parsed = Parsed::new();
        chrono::format::parse(&mut parsed, text, items.iter()).ok()?;
        resolve(parsed)
    }
}

/// A date and time from parsed fields, missing ones from 1970-01-01 00:00:00.
fn resolve(mut parsed: Parsed) -> Option<NaiveDateTime> {
    if parsed.year().is_none() && parsed.year_mod_100().is_none() {
        parsed.set_year(1970).ok()?;
    }
    if parsed.ordinal().is_none() {
        if parsed.month().is_none() {
            parsed.set_month(1).ok()?;
        }
        if parsed.day().is_none() {
            parsed.set_day(1).ok()?;
        }
    }
    match (parsed.hour_div_12(), parsed.hour_mod_12()) {
        (None, None) => parsed.set_hour(0).ok()?,
        (None, Some(_)) => parsed.set_ampm(false).ok()?,
        _ => {}
    }
    if parsed.minute().is_none() {
        parsed.set_minute(0).ok()?;
    }
    parsed.to_naive_datetime_with_offset(0).ok()
}

/// Flink's default pattern of text timestamps, `yyyy-MM-dd HH:mm:ss`.
pub const DEFAULT_PATTERN: &str = "yyyy-MM-dd HH:mm:ss";

/// A timestamp written as Flink casts text to `TIMESTAMP`: `yyyy-MM-dd`,
/// optionally followed by ` HH:mm[:ss[.fraction]]` (or `T` for the space).
pub fn parse_timestamp_text(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    for format in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
            return Some(time);
        }
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn time(ms: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 3, 5)
            .and_then(|d| d.and_hms_milli_opt(7, 8, 9, ms))
            .unwrap()
    }

    fn format(pattern: &str, t: &NaiveDateTime) -> String {
        let mut out = String::new();
        JavaPattern::new(pattern).unwrap().format(t, &mut out).unwrap();
        out
    }

    #[test]
    fn formats_the_common_patterns() {
        let t = time(45);
        assert_eq!(format("yyyy-MM-dd", &t), "2024-03-05");
        assert_eq!(format("HH:mm", &t), "07:08");
        assert_eq!(format("yyyy-MM-dd HH:mm:ss", &t), "2024-03-05 07:08:09");
        assert_eq!(format("yyyy-MM-dd HH:mm:ss.SSS", &t), "2024-03-05 07:08:09.045");
        assert_eq!(format("yy/M/d H:m:s", &t), "24/3/5 7:8:9");
        assert_eq!(format("S|SS|SSSSSS", &t), "0|04|045000");
        assert_eq!(format("hh a, EEE MMM d", &t), "07 AM, Tue Mar 5");
        assert_eq!(format("EEEE d MMMM yyyy", &t), "Tuesday 5 March 2024");
        let evening = time(0) + chrono::Duration::hours(12);
        assert_eq!(format("h:mm a", &evening), "7:08 PM");
    }

    #[test]
    fn quotes_are_literals() {
        let t = time(0);
        assert_eq!(format("yyyy-MM-dd'T'HH:mm", &t), "2024-03-05T07:08");
        assert_eq!(format("'at' HH 'o''clock' ''", &t), "at 07 o'clock '");
        assert_eq!(format("'yyyy'", &t), "yyyy");
        assert_eq!(format("", &t), "");
    }

    #[test]
    fn bad_patterns_name_the_problem() {
        let e = JavaPattern::new("yyyy-QQ").unwrap_err();
        assert_eq!(
            e,
            PatternError::UnsupportedLetter {
                letter: 'Q',
                pattern: "yyyy-QQ".into()
            }
        );
        assert!(e.to_string().contains("'Q'"), "{e}");
        assert!(matches!(
            JavaPattern::new("ddd"),
            Err(PatternError::TooMany {
                letter: 'd',
                count: 3,
                ..
            })
        ));
        assert!(matches!(
            JavaPattern::new("HH 'oops"),
            Err(PatternError::UnterminatedQuote(_))
        ));
    }

    #[test]
    fn parses_text_in_a_pattern() {
        let p = JavaPattern::new(DEFAULT_PATTERN).unwrap();
        assert_eq!(p.parse("2024-03-05 07:08:09"), Some(time(0)));
        assert_eq!(p.parse("2024-03-05 07:08"), None);
        assert_eq!(p.parse("nonsense"), None);
        let p = JavaPattern::new("yyyy-MM-dd HH:mm:ss.SSS").unwrap();
        assert_eq!(p.parse("2024-03-05 07:08:09.045"), Some(time(45)));
        let p = JavaPattern::new("yyyy/MM/dd").unwrap();
        assert_eq!(
            p.parse("2024/03/05"),
            NaiveDate::from_ymd_opt(2024, 3, 5).and_then(|d| d.and_hms_opt(0, 0, 0))
        );
        let p = JavaPattern::new("HH:mm").unwrap();
        assert_eq!(
            p.parse("07:08"),
            NaiveDate::from_ymd_opt(1970, 1, 1).and_then(|d| d.and_hms_opt(7, 8, 0))
        );
    }

    #[test]
    fn parses_flink_timestamp_text() {
        assert_eq!(parse_timestamp_text("2024-03-05 07:08:09.045"), Some(time(45)));
        assert_eq!(parse_timestamp_text("2024-03-05T07:08:09"), Some(time(0)));
        assert_eq!(
            parse_timestamp_text("2024-03-05"),
            NaiveDate::from_ymd_opt(2024, 3, 5).and_then(|d| d.and_hms_opt(0, 0, 0))
        );
        assert_eq!(parse_timestamp_text("05.03.2024"), None);
    }
}
