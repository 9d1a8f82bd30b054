//! Writers that put generated events where other engines can read them.
//!
//! * **JSON lines**, exactly as Flink's Nexmark benchmark writes its Kafka topic
//!   (`insert_kafka.sql` into the `kafka` table of `ddl_kafka.sql`, `'format' =
//!   'json'`): one object per event with `event_type` (0 person, 1 auction, 2 bid) and
//!   the nested rows `person`, `auction` and `bid`, the two absent ones `null`;
//!   camelCase field names in the tables' column order; `TIMESTAMP(3)` values in Flink
//!   JSON's default `SQL` format (`2024-01-01 00:00:00.123`, UTC, trailing zeros of the
//!   fraction dropped and no fraction at whole seconds); Jackson's string escaping.
//! * **CSV**, one file per kind (`person`, `auction`, `bid`) with the same column names
//!   and timestamp format, RFC 4180 quoting, and an optional header line.

use std::borrow::Borrow;
use std::io::{self, Write};

use crate::model::{Auction, Bid, Event, Person};

/// Bytes buffered before a writer hands them to the underlying `Write`.
const FLUSH_AT: usize = 64 * 1024;

/// CSV header of the person file.
pub const PERSON_CSV_HEADER: &str = "id,name,emailAddress,creditCard,city,state,dateTime,extra";
/// CSV header of the auction file.
pub const AUCTION_CSV_HEADER: &str =
    "id,itemName,description,initialBid,reserve,dateTime,expires,seller,category,extra";
/// CSV header of the bid file.
pub const BID_CSV_HEADER: &str = "auction,bidder,price,channel,url,dateTime,extra";

/// Events written, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventCounts {
    /// Persons.
    pub persons: u64,
    /// Auctions.
    pub auctions: u64,
    /// Bids.
    pub bids: u64,
}

impl EventCounts {
    /// All events.
    pub fn total(&self) -> u64 {
        self.persons + self.auctions + self.bids
    }

    fn count(&mut self, event: &Event) {
        match event {
            Event::Person(_) => self.persons += 1,
            Event::Auction(_) => self.auctions += 1,
            Event::Bid(_) => self.bids += 1,
        }
    }
}

/// Writes `events` to `out` as JSON lines in Flink's Nexmark format (see the module
/// docs); returns how many of each kind were written. Buffers internally, so `out`
/// need not be buffered.
pub fn write_json_lines<I, W>(events: I, mut out: W) -> io::Result<EventCounts>
where
    I: IntoIterator,
    I::Item: Borrow<Event>,
    W: Write,
{
    let mut counts = EventCounts::default();
    let mut buf = Vec::with_capacity(FLUSH_AT + 4096);
    for event in events {
        let event = event.borrow();
        json_line(event, &mut buf);
        counts.count(event);
        if buf.len() >= FLUSH_AT {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    out.flush()?;
    Ok(counts)
}

/// Appends `event` as one JSON line, newline included, to `out`.
pub fn json_line(event: &Event, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"event_type\":");
    push_int(i64::from(event.event_type().value()), out);
    match event {
        Event::Person(p) => {
            out.extend_from_slice(b",\"person\":");
            json_person(p, out);
            out.extend_from_slice(b",\"auction\":null,\"bid\":null}\n");
        }
        Event::Auction(a) => {
            out.extend_from_slice(b",\"person\":null,\"auction\":");
            json_auction(a, out);
            out.extend_from_slice(b",\"bid\":null}\n");
        }
        Event::Bid(b) => {
            out.extend_from_slice(b",\"person\":null,\"auction\":null,\"bid\":");
            json_bid(b, out);
            out.extend_from_slice(b"}\n");
        }
    }
}

fn json_person(p: &Person, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"id\":");
    push_int(p.id, out);
    out.extend_from_slice(b",\"name\":");
    json_string(&p.name, out);
    out.extend_from_slice(b",\"emailAddress\":");
    json_string(&p.email_address, out);
    out.extend_from_slice(b",\"creditCard\":");
    json_string(&p.credit_card, out);
    out.extend_from_slice(b",\"city\":");
    json_string(&p.city, out);
    out.extend_from_slice(b",\"state\":");
    json_string(&p.state, out);
    out.extend_from_slice(b",\"dateTime\":");
    json_timestamp(p.date_time, out);
    out.extend_from_slice(b",\"extra\":");
    json_string(&p.extra, out);
    out.push(b'}');
}

fn json_auction(a: &Auction, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"id\":");
    push_int(a.id, out);
    out.extend_from_slice(b",\"itemName\":");
    json_string(&a.item_name, out);
    out.extend_from_slice(b",\"description\":");
    json_string(&a.description, out);
    out.extend_from_slice(b",\"initialBid\":");
    push_int(a.initial_bid, out);
    out.extend_from_slice(b",\"reserve\":");
    push_int(a.reserve, out);
    out.extend_from_slice(b",\"dateTime\":");
    json_timestamp(a.date_time, out);
    out.extend_from_slice(b",\"expires\":");
    json_timestamp(a.expires, out);
    out.extend_from_slice(b",\"seller\":");
    push_int(a.seller, out);
    out.extend_from_slice(b",\"category\":");
    push_int(a.category, out);
    out.extend_from_slice(b",\"extra\":");
    json_string(&a.extra, out);
    out.push(b'}');
}

fn json_bid(b: &Bid, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"auction\":");
    push_int(b.auction, out);
    out.extend_from_slice(b",\"bidder\":");
    push_int(b.bidder, out);
    out.extend_from_slice(b",\"price\":");
    push_int(b.price, out);
    out.extend_from_slice(b",\"channel\":");
    json_string(&b.channel, out);
    out.extend_from_slice(b",\"url\":");
    json_string(&b.url, out);
    out.extend_from_slice(b",\"dateTime\":");
    json_timestamp(b.date_time, out);
    out.extend_from_slice(b",\"extra\":");
    json_string(&b.extra, out);
    out.push(b'}');
}

fn json_timestamp(ms: i64, out: &mut Vec<u8>) {
    out.push(b'"');
    push_timestamp(ms, out);
    out.push(b'"');
}

/// A JSON string with Jackson's escapes: `\"`, `\\`, `\b \t \n \f \r`, and `\u00XX`
/// (upper-case hex) for other control characters; everything else as is.
fn json_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let escape: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0C => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1F => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(c >> 4)]);
            out.push(HEX[usize::from(c & 0xF)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn push_int(n: i64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let negative = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if negative {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

fn push_padded(n: u64, width: usize, out: &mut Vec<u8>) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    let mut v = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let start = i.min(buf.len() - width.min(buf.len()));
    out.extend_from_slice(&buf[start..]);
}

const MS_PER_DAY: i64 = 86_400_000;

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (UTC
/// dates of the generator's millisecond timestamps: `ms.div_euclid(86_400_000)`).
///
/// ```
/// assert_eq!(weir_nexmark::civil_from_days(19_723), (2024, 1, 1));
/// assert_eq!(weir_nexmark::civil_from_days(-1), (1969, 12, 31));
/// ```
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn push_timestamp(ms: i64, out: &mut Vec<u8>) {
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY) as u64;
    let (year, month, day) = civil_from_days(days);
    // Java's ISO_LOCAL_DATE: at least four year digits, '+' above 9999, '-' below 0.
    if year > 9999 {
        out.push(b'+');
    } else if year < 0 {
        out.push(b'-');
    }
    push_padded(year.unsigned_abs(), 4, out);
    out.push(b'-');
    push_padded(u64::from(month), 2, out);
    out.push(b'-');
    push_padded(u64::from(day), 2, out);
    out.push(b' ');
    push_padded(in_day / 3_600_000, 2, out);
    out.push(b':');
    push_padded(in_day / 60_000 % 60, 2, out);
    out.push(b':');
    push_padded(in_day / 1000 % 60, 2, out);
    let mut millis = in_day % 1000;
    if millis != 0 {
        // appendFraction(NANO_OF_SECOND, 0, 9, true): only the significant digits.
        let mut width = 3;
        while millis.is_multiple_of(10) {
            millis /= 10;
            width -= 1;
        }
        out.push(b'.');
        push_padded(millis, width, out);
    }
}

/// Formats ms since the epoch as Flink's SQL timestamp text (UTC), e.g.
/// `2024-01-01 00:00:00.1`.
///
/// ```
/// assert_eq!(weir_nexmark::format_timestamp(1_704_067_200_120), "2024-01-01 00:00:00.12");
/// assert_eq!(weir_nexmark::format_timestamp(0), "1970-01-01 00:00:00");
/// ```
pub fn format_timestamp(ms: i64) -> String {
    let mut out = Vec::with_capacity(24);
    push_timestamp(ms, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Parses Flink's SQL timestamp text (`yyyy-MM-dd HH:mm:ss[.fraction]`, UTC) back to
/// ms since the epoch, truncating below milliseconds; `None` if it is malformed.
///
/// ```
/// assert_eq!(weir_nexmark::parse_timestamp("2024-01-01 00:00:00.12"), Some(1_704_067_200_120));
/// ```
pub fn parse_timestamp(text: &str) -> Option<i64> {
    if let Some(ms) = parse_plain_timestamp(text.as_bytes()) {
        return Some(ms);
    }
    let (date, time) = text.split_once(' ')?;
    let (sign, date) = match date.as_bytes().first()? {
        b'+' => (1, &date[1..]),
        b'-' => (-1, &date[1..]),
        _ => (1, date),
    };
    let mut parts = date.splitn(3, '-');
    let year: i64 = parse_digits(parts.next()?)?;
    let month: u32 = u32::try_from(parse_digits(parts.next()?)?).ok()?;
    let day: u32 = u32::try_from(parse_digits(parts.next()?)?).ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (hms, fraction) = match time.split_once('.') {
        Some((hms, f)) => (hms, Some(f)),
        None => (time, None),
    };
    let mut parts = hms.splitn(3, ':');
    let hour = parse_digits(parts.next()?)?;
    let minute = parse_digits(parts.next()?)?;
    let second = parse_digits(parts.next()?)?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut millis = 0;
    if let Some(f) = fraction {
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        for (i, c) in f.bytes().take(3).enumerate() {
            millis += i64::from(c - b'0') * [100, 10, 1][i];
        }
    }
    let days = days_from_civil(sign * year, month, day);
    Some(days * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + millis)
}

/// `yyyy-MM-dd HH:mm:ss[.f{1,3}]` with a four-digit year (the shape the writers
/// write) without splitting or allocating; `None` for anything else.
fn parse_plain_timestamp(b: &[u8]) -> Option<i64> {
    fn num(b: &[u8]) -> Option<i64> {
        b.iter()
            .try_fold(0i64, |n, &c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    }
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = num(&b[0..4])?;
    let (month, day) = (
        u32::try_from(num(&b[5..7])?).ok()?,
        u32::try_from(num(&b[8..10])?).ok()?,
    );
    let (hour, minute, second) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let millis = match &b[19..] {
        [] => 0,
        [b'.', f @ ..] if (1..=3).contains(&f.len()) => num(f)? * [100, 10, 1][f.len() - 1],
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(days * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + millis)
}

fn parse_digits(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Writes events as CSV, one file per kind (see the module docs).
pub struct CsvWriter<P: Write, A: Write, B: Write> {
    persons: Sink<P>,
    auctions: Sink<A>,
    bids: Sink<B>,
    counts: EventCounts,
}

struct Sink<W: Write> {
    out: W,
    buf: Vec<u8>,
}

impl<W: Write> Sink<W> {
    fn new(out: W, header: Option<&str>) -> Self {
        let mut buf = Vec::with_capacity(FLUSH_AT + 4096);
        if let Some(header) = header {
            buf.extend_from_slice(header.as_bytes());
            buf.push(b'\n');
        }
        Sink { out, buf }
    }

    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }
}

impl<P: Write, A: Write, B: Write> CsvWriter<P, A, B> {
    /// A writer of persons, auctions and bids to three outputs, each starting with its
    /// header line if `header` is set.
    pub fn new(persons: P, auctions: A, bids: B, header: bool) -> Self {
        CsvWriter {
            persons: Sink::new(persons, header.then_some(PERSON_CSV_HEADER)),
            auctions: Sink::new(auctions, header.then_some(AUCTION_CSV_HEADER)),
            bids: Sink::new(bids, header.then_some(BID_CSV_HEADER)),
            counts: EventCounts::default(),
        }
    }

    /// Writes one event to its kind's output.
    pub fn write(&mut self, event: &Event) -> io::Result<()> {
        self.counts.count(event);
        match event {
            Event::Person(p) => {
                csv_person(p, &mut self.persons.buf);
                self.persons.maybe_flush()
            }
            Event::Auction(a) => {
                csv_auction(a, &mut self.auctions.buf);
                self.auctions.maybe_flush()
            }
            Event::Bid(b) => {
                csv_bid(b, &mut self.bids.buf);
                self.bids.maybe_flush()
            }
        }
    }

    /// Writes what is buffered, flushes the outputs and returns the counts.
    pub fn finish(mut self) -> io::Result<EventCounts> {
        self.persons.finish()?;
        self.auctions.finish()?;
        self.bids.finish()?;
        Ok(self.counts)
    }
}

/// Writes `events` as CSV to one output per kind; returns the counts.
pub fn write_csv<I, P, A, B>(events: I, persons: P, auctions: A, bids: B, header: bool) -> io::Result<EventCounts>
where
    I: IntoIterator,
    I::Item: Borrow<Event>,
    P: Write,
    A: Write,
    B: Write,
{
    let mut writer = CsvWriter::new(persons, auctions, bids, header);
    for event in events {
        writer.write(event.borrow())?;
    }
    writer.finish()
}

/// Appends `event` as one CSV record of its kind's file, newline included.
pub fn csv_record(event: &Event, out: &mut Vec<u8>) {
    match event {
        Event::Person(p) => csv_person(p, out),
        Event::Auction(a) => csv_auction(a, out),
        Event::Bid(b) => csv_bid(b, out),
    }
}

fn csv_person(p: &Person, out: &mut Vec<u8>) {
    push_int(p.id, out);
    out.push(b',');
    csv_string(&p.name, out);
    out.push(b',');
    csv_string(&p.email_address, out);
    out.push(b',');
    csv_string(&p.credit_card, out);
    out.push(b',');
    csv_string(&p.city, out);
    out.push(b',');
    csv_string(&p.state, out);
    out.push(b',');
    push_timestamp(p.date_time, out);
    out.push(b',');
    csv_string(&p.extra, out);
    out.push(b'\n');
}

fn csv_auction(a: &Auction, out: &mut Vec<u8>) {
    push_int(a.id, out);
    out.push(b',');
    csv_string(&a.item_name, out);
    out.push(b',');
    csv_string(&a.description, out);
    out.push(b',');
    push_int(a.initial_bid, out);
    out.push(b',');
    push_int(a.reserve, out);
    out.push(b',');
    push_timestamp(a.date_time, out);
    out.push(b',');
    push_timestamp(a.expires, out);
    out.push(b',');
    push_int(a.seller, out);
    out.push(b',');
    push_int(a.category, out);
    out.push(b',');
    csv_string(&a.extra, out);
    out.push(b'\n');
}

fn csv_bid(b: &Bid, out: &mut Vec<u8>) {
    push_int(b.auction, out);
    out.push(b',');
    push_int(b.bidder, out);
    out.push(b',');
    push_int(b.price, out);
    out.push(b',');
    csv_string(&b.channel, out);
    out.push(b',');
    csv_string(&b.url, out);
    out.push(b',');
    push_timestamp(b.date_time, out);
    out.push(b',');
    csv_string(&b.extra, out);
    out.push(b'\n');
}

/// RFC 4180: quoted (with doubled quotes) only if it holds a comma, quote or line
/// break. Generated strings never do.
fn csv_string(s: &str, out: &mut Vec<u8>) {
    if s.bytes().any(|c| matches!(c, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for c in s.bytes() {
            if c == b'"' {
                out.push(b'"');
            }
            out.push(c);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_shape_parses_like_the_general_one() {
        let mut ms = 0i64;
        while ms < 4_102_444_800_000 {
            let text = format_timestamp(ms);
            assert_eq!(parse_plain_timestamp(text.as_bytes()), Some(ms), "{text}");
            ms += 7_777_777 + 13;
        }
        for text in ["2024-01-01 00:00:00.5", "2024-02-29 23:59:59.12", "0001-01-01 00:00:00"] {
            let plain = parse_plain_timestamp(text.as_bytes());
            assert!(plain.is_some(), "{text}");
            // The general parser's own path, without the plain shortcut.
            let (date, time) = text.split_once(' ').unwrap();
            let general = parse_timestamp(&format!("+{date} {time}"));
            assert_eq!(plain, general, "{text}");
        }
        for text in [
            "2024-1-01 00:00:00",
            "2024-01-01T00:00:00",
            "2024-01-01 00:00:00.1234",
            "2024-13-01 00:00:00",
        ] {
            assert_eq!(parse_plain_timestamp(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn timestamps_like_flink_sql_format() {
        assert_eq!(format_timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(format_timestamp(1), "1970-01-01 00:00:00.001");
        assert_eq!(format_timestamp(10), "1970-01-01 00:00:00.01");
        assert_eq!(format_timestamp(100), "1970-01-01 00:00:00.1");
        assert_eq!(format_timestamp(123), "1970-01-01 00:00:00.123");
        assert_eq!(format_timestamp(-1), "1969-12-31 23:59:59.999");
        assert_eq!(format_timestamp(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(
            format_timestamp(1_704_067_200_000 + 86_399_999),
            "2024-01-01 23:59:59.999"
        );
        assert_eq!(format_timestamp(253_402_300_800_000), "+10000-01-01 00:00:00");
        assert_eq!(format_timestamp(-62_198_755_200_000), "-0001-01-01 00:00:00");
    }

    #[test]
    fn timestamps_round_trip() {
        let mut ms = -62_198_755_200_000i64;
        while ms < 253_402_300_800_000 {
            let text = format_timestamp(ms);
            assert_eq!(parse_timestamp(&text), Some(ms), "{text}");
            ms += 7_777_777_777 + 13;
        }
        assert_eq!(
            parse_timestamp("2024-01-01 00:00:00.123456789"),
            Some(1_704_067_200_123)
        );
        assert_eq!(parse_timestamp("2024-13-01 00:00:00"), None);
        assert_eq!(parse_timestamp("2024-01-01T00:00:00"), None);
        assert_eq!(parse_timestamp("2024-01-01 00:00:00."), None);
    }

    #[test]
    fn json_strings_escape_like_jackson() {
        let mut out = Vec::new();
        json_string("a\"b\\c\nd\u{1}é/", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "\"a\\\"b\\\\c\\nd\\u0001é/\"");
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        let mut out = Vec::new();
        csv_string("plain text", &mut out);
        out.push(b'|');
        csv_string("a,\"b\"", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "plain text|\"a,\"\"b\"\"\"");
    }

    #[test]
    fn ints() {
        let mut out = Vec::new();
        for n in [0, 7, -7, 1234567890123, i64::MIN, i64::MAX] {
            push_int(n, &mut out);
            out.push(b' ');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("0 7 -7 1234567890123 {} {} ", i64::MIN, i64::MAX)
        );
    }
}
