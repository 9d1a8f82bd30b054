//! Reading the lines of a byte range of a file: the split rule.
//!
//! A line *starts* at byte 0 or right after a `\n`. The range `[start, end)` owns
//! exactly the lines that start inside it: a range starting mid-line skips to the
//! next line start, and its last line may run past `end`. Consecutive ranges
//! therefore read every line of a file exactly once, whatever their sizes.
//!
//! Reads are big (`buffer` bytes at a time, into one buffer reused for the whole
//! range); a line is handed out as a slice of that buffer, so no allocation happens
//! per line. A line longer than `max_line` bytes is reported as
//! [`Line::Oversize`] and skipped without being kept in memory: the buffer never
//! grows beyond `max_line` plus one read.

use std::io::{self, Read};

/// How many bytes of an oversize line are kept for its error message.
const HEAD: usize = 120;

/// One line of a range.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// The line's bytes, without its `\n` or `\r\n`.
    Text(&'a [u8]),
    /// A line longer than the maximum; `len` bytes were skipped (without the
    /// `\n`), `head` is its beginning (for error messages).
    Oversize { len: u64, head: Vec<u8> },
}

/// The lines of one byte range of an input, read through a large buffer.
pub(crate) struct LineReader<R> {
    input: R,
    buf: Vec<u8>,
    /// Valid, unconsumed data is `buf[head..tail]`; `buf[head]` is at `offset`.
    head: usize,
    tail: usize,
    eof: bool,
    /// The input offset of `buf[head]`: after a line is returned, the start of
    /// the next line.
    offset: u64,
    /// Lines starting at or after `end` belong to the next range.
    end: u64,
    /// The read size.
    chunk: usize,
    max_line: usize,
}

impl<R: Read> LineReader<R> {
    /// A reader positioned at a line start: `input` is at input offset `offset`,
    /// which is a line start (or 0). Lines starting before `end` are read.
    pub fn at_line_start(input: R, offset: u64, end: u64, chunk: usize, max_line: usize) -> Self {
        let chunk = chunk.max(16);
        LineReader {
            input,
            buf: vec![0; chunk],
            head: 0,
            tail: 0,
            eof: false,
            offset,
            end,
            chunk,
            max_line: max_line.max(1),
        }
    }

    /// A reader of the range starting at `start` (> 0), whose `input` is at input
    /// offset `start - 1`: skips to the first line starting at or after `start`.
    pub fn mid_file(input: R, start: u64, end: u64, chunk: usize, max_line: usize) -> io::Result<Self> {
        let mut reader = Self::at_line_start(input, start.saturating_sub(1), end, chunk, max_line);
        reader.skip_past_newline()?;
        Ok(reader)
    }

    /// The input offset of the next line's start.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether the range has no more lines.
    pub fn is_done(&self) -> bool {
        self.offset >= self.end || (self.eof && self.head == self.tail)
    }

    /// Reads more input behind the unconsumed data; false at end of input.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.head > 0 {
            self.buf.copy_within(self.head..self.tail, 0);
            self.tail -= self.head;
            self.head = 0;
        }
        if self.buf.len() - self.tail < self.chunk {
            // Room for one more read: the buffer holds a line of at most
            // `max_line` bytes plus one read (see `next_line`).
            self.buf.resize(self.tail + self.chunk, 0);
        }
        loop {
            match self.input.read(&mut self.buf[self.tail..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.tail += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Drops input up to and including the next `\n` (or to the end); returns
    /// the number of bytes dropped before the `\n`.
    fn skip_past_newline(&mut self) -> io::Result<u64> {
        let mut skipped = 0u64;
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.head..self.tail]) {
                skipped += i as u64;
                self.offset += i as u64 + 1;
                self.head += i + 1;
                return Ok(skipped);
            }
            let n = (self.tail - self.head) as u64;
            skipped += n;
            self.offset += n;
            self.head = 0;
            self.tail = 0;
            if !self.fill()? {
                return Ok(skipped);
            }
        }
    }

    /// The next line of the range, `None` when the range is done.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        if self.offset >= self.end {
            return Ok(None);
        }
        let mut searched = 0;
        loop {
            let data = &self.buf[self.head + searched..self.tail];
            if let Some(i) = memchr::memchr(b'\n', data) {
                let start = self.head;
                let newline = self.head + searched + i;
                let len = newline - start;
                self.head = newline + 1;
                self.offset += len as u64 + 1;
                if len > self.max_line_with_cr(start, newline) {
                    let head = self.buf[start..start + len.min(HEAD)].to_vec();
                    return Ok(Some(Line::Oversize { len: len as u64, head }));
                }
                return Ok(Some(Line::Text(strip_cr(&self.buf[start..newline]))));
            }
            searched = self.tail - self.head;
            if searched > self.max_line + 1 {
                // Too long: keep its beginning for the error, drop the rest.
                let head = self.buf[self.head..self.head + HEAD.min(searched)].to_vec();
                self.offset += searched as u64;
                self.head = 0;
                self.tail = 0;
                let rest = if self.fill()? { self.skip_past_newline()? } else { 0 };
                return Ok(Some(Line::Oversize {
                    len: searched as u64 + rest,
                    head,
                }));
            }
            if !self.fill()? {
                // The last line, without a line ending.
                if self.head == self.tail {
                    return Ok(None);
                }
                let start = self.head;
                let len = self.tail - start;
                self.head = self.tail;
                self.offset += len as u64;
                let line = strip_cr(&self.buf[start..start + len]);
                if line.len() > self.max_line {
                    let head = line[..line.len().min(HEAD)].to_vec();
                    return Ok(Some(Line::Oversize { len: len as u64, head }));
                }
                return Ok(Some(Line::Text(line)));
            }
            // `fill` moved the unconsumed data to the front: search on from where
            // the last search ended.
        }
    }

    /// The longest allowed length of `buf[start..newline]`, counting a final
    /// `\r` (part of the line ending, not of the line).
    fn max_line_with_cr(&self, start: usize, newline: usize) -> usize {
        if newline > start && self.buf[newline - 1] == b'\r' {
            self.max_line + 1
        } else {
            self.max_line
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    match line.split_last() {
        Some((b'\r', rest)) => rest,
        _ => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Seek, SeekFrom};

    /// Reads range `[start, end)` of `data`, returning (line start offset, line) pairs.
    fn read_range(data: &[u8], start: u64, end: u64, chunk: usize, max_line: usize) -> Vec<(u64, Vec<u8>)> {
        let mut cursor = Cursor::new(data.to_vec());
        let mut reader = if start == 0 {
            LineReader::at_line_start(cursor, 0, end, chunk, max_line)
        } else {
            cursor.seek(SeekFrom::Start(start - 1)).unwrap();
            LineReader::mid_file(cursor, start, end, chunk, max_line).unwrap()
        };
        let mut lines = Vec::new();
        loop {
            let at = reader.offset();
            match reader.next_line().unwrap() {
                None => break,
                Some(Line::Text(t)) => lines.push((at, t.to_vec())),
                Some(Line::Oversize { len, .. }) => lines.push((at, format!("<oversize {len}>").into_bytes())),
            }
        }
        assert!(reader.is_done());
        lines
    }

    /// The lines of `data` as a plain reference implementation would split them.
    fn oracle(data: &[u8], max_line: usize) -> Vec<(u64, Vec<u8>)> {
        let mut lines = Vec::new();
        let mut start = 0usize;
        while start < data.len() {
            let end = data[start..].iter().position(|b| *b == b'\n').map(|i| start + i);
            let raw = &data[start..end.unwrap_or(data.len())];
            let content = raw.strip_suffix(b"\r").unwrap_or(raw);
            if content.len() > max_line {
                lines.push((start as u64, format!("<oversize {}>", raw.len()).into_bytes()));
            } else {
                lines.push((start as u64, content.to_vec()));
            }
            start = end.map_or(data.len(), |e| e + 1);
        }
        lines
    }

    fn random_file(rng: &mut fastrand::Rng) -> Vec<u8> {
        let mut data = Vec::new();
        let lines = rng.usize(0..60);
        for _ in 0..lines {
            let len = match rng.u8(0..10) {
                0 => 0,
                1 => rng.usize(200..3000), // a giant line
                _ => rng.usize(1..40),
            };
            for _ in 0..len {
                data.push(b'a' + rng.u8(0..26));
            }
            match rng.u8(0..4) {
                0 => data.extend_from_slice(b"\r\n"),
                _ => data.push(b'\n'),
            }
        }
        if rng.bool() {
            // No line ending at the end.
            data.extend_from_slice(b"last");
        }
        data
    }

    /// Random split sizes over random files (CRLF, empty lines, giant lines, no
    /// final newline): every line is read exactly once, by the range it starts in.
    #[test]
    fn every_line_exactly_once_over_random_ranges() {
        let seed = std::env::var("WEIR_LINES_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(7u64);
        println!("seed {seed} (WEIR_LINES_SEED)");
        let mut rng = fastrand::Rng::with_seed(seed);
        for round in 0..400 {
            let data = random_file(&mut rng);
            let max_line = if rng.bool() { 1000 } else { usize::MAX / 2 };
            let chunk = [16, 17, 64, 1000, 65536][rng.usize(0..5)];
            let mut cuts = vec![0u64];
            let mut at = 0u64;
            while at < data.len() as u64 {
                at += rng.u64(1..=(data.len() as u64).max(1));
                cuts.push(at.min(data.len() as u64));
            }
            cuts.dedup();
            if cuts.len() == 1 {
                cuts.push(0);
            }
            let mut all = Vec::new();
            for pair in cuts.windows(2) {
                all.extend(read_range(&data, pair[0], pair[1], chunk, max_line));
            }
            assert_eq!(
                all,
                oracle(&data, max_line),
                "seed {seed} round {round}: cuts {cuts:?}, chunk {chunk}"
            );
        }
    }

    #[test]
    fn a_range_resumes_at_a_stored_offset() {
        let data = b"one\ntwo\r\n\nthree\nfour";
        let first = read_range(data, 0, data.len() as u64, 16, 100);
        for (i, (offset, _)) in first.iter().enumerate() {
            let mut cursor = Cursor::new(data.to_vec());
            cursor.seek(SeekFrom::Start(*offset)).unwrap();
            let mut reader = LineReader::at_line_start(cursor, *offset, data.len() as u64, 16, 100);
            let mut rest = Vec::new();
            while let Some(Line::Text(t)) = reader.next_line().unwrap() {
                rest.push(t.to_vec());
            }
            let expected: Vec<Vec<u8>> = first[i..].iter().map(|(_, l)| l.clone()).collect();
            assert_eq!(rest, expected);
        }
    }

    #[test]
    fn oversize_lines_are_skipped_without_keeping_them() {
        let mut data = b"ok\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 100_000));
        data.extend_from_slice(b"\nafter\n");
        let mut reader = LineReader::at_line_start(Cursor::new(data.clone()), 0, data.len() as u64, 64, 1000);
        assert_eq!(reader.next_line().unwrap(), Some(Line::Text(b"ok")));
        match reader.next_line().unwrap() {
            Some(Line::Oversize { len, head }) => {
                assert_eq!(len, 100_000);
                assert!(head.iter().all(|b| *b == b'x') && !head.is_empty());
            }
            other => panic!("{other:?}"),
        }
        assert!(reader.buf.len() < 4096, "the buffer grew to {}", reader.buf.len());
        assert_eq!(reader.next_line().unwrap(), Some(Line::Text(b"after")));
        assert_eq!(reader.next_line().unwrap(), None);
    }
}
