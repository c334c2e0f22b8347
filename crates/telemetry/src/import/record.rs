//! Splits a CSV byte stream into records of fields: separators, quotes, BOM, CRLF and blank lines.

use std::io::BufRead;

/// Longest logical record (quoted fields may span lines) before it is reported as unterminated.
const MAX_RECORD_LINES: usize = 64;
/// Default of [`RecordReader::new`]'s line limit (`ImportOptions::max_line_bytes`).
pub(crate) const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// A field separator; `;` also covers Bitbrains' `;\t` because unquoted fields are trimmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sep {
    Comma,
    Semicolon,
    Tab,
}

impl Sep {
    fn byte(self) -> char {
        match self {
            Sep::Comma => ',',
            Sep::Semicolon => ';',
            Sep::Tab => '\t',
        }
    }

    /// Picks the separator of a header line: `;` over tab over `,` (counted outside quotes).
    pub(crate) fn detect(header: &str) -> Sep {
        let (mut semi, mut tab, mut comma, mut quoted) = (0usize, 0usize, 0usize, false);
        for c in header.chars() {
            match c {
                '"' => quoted = !quoted,
                ';' if !quoted => semi += 1,
                '\t' if !quoted => tab += 1,
                ',' if !quoted => comma += 1,
                _ => {}
            }
        }
        if semi > 0 {
            Sep::Semicolon
        } else if tab > 0 && comma == 0 {
            Sep::Tab
        } else {
            Sep::Comma
        }
    }
}

/// One record: its first line (1-based) and its fields, or why it could not be split.
pub(crate) struct Record {
    pub line: usize,
    pub fields: Result<Vec<String>, String>,
}

enum Split {
    Done(Vec<String>),
    OpenQuote,
}

/// Splits one logical record; `OpenQuote` when a quoted field runs past the end of `text`.
fn split(text: &str, sep: Sep) -> Split {
    let sep = sep.byte();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    loop {
        // Start of a field: skip leading blanks (not the separator itself).
        while let Some(&c) = chars.peek() {
            if c != sep && (c == ' ' || c == '\t') {
                chars.next();
            } else {
                break;
            }
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        closed = true;
                        break;
                    }
                } else {
                    field.push(c);
                }
            }
            if !closed {
                return Split::OpenQuote;
            }
            // Anything between the closing quote and the separator is kept, minus blanks.
            let mut tail = String::new();
            let mut ended_by_sep = false;
            for c in chars.by_ref() {
                if c == sep {
                    ended_by_sep = true;
                    break;
                }
                tail.push(c);
            }
            field.push_str(tail.trim());
            fields.push(std::mem::take(&mut field));
            if !ended_by_sep {
                return Split::Done(fields);
            }
        } else {
            let mut ended_by_sep = false;
            for c in chars.by_ref() {
                if c == sep {
                    ended_by_sep = true;
                    break;
                }
                field.push(c);
            }
            fields.push(field.trim().to_string());
            field.clear();
            if !ended_by_sep {
                return Split::Done(fields);
            }
        }
    }
}

/// Reads records one by one, skipping blank lines; holds at most one line (of at most
/// `max_line` bytes) or one record (as many) at a time, however large the input.
pub(crate) struct RecordReader<R> {
    inner: R,
    line_no: usize,
    pending: Option<(usize, Result<String, String>)>,
    sep: Sep,
    buf: Vec<u8>,
    max_line: usize,
}

impl<R: BufRead> RecordReader<R> {
    pub(crate) fn new(inner: R, max_line: usize) -> Self {
        RecordReader {
            inner,
            line_no: 0,
            pending: None,
            sep: Sep::Comma,
            buf: Vec::new(),
            max_line: max_line.max(1),
        }
    }

    /// Appends the next line (with its `\n`, if any) to `buf` while it fits in `max_line` bytes
    /// plus its terminator; a longer line is read to its end without being kept. Returns the bytes
    /// read and whether the line was too long.
    fn read_line_bounded(&mut self) -> std::io::Result<(usize, bool)> {
        let mut read = 0;
        let mut too_long = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok((read, too_long));
            }
            let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            // `\r\n` and the `\n` itself do not count against the limit.
            if !too_long && self.buf.len() + take > self.max_line + 2 {
                too_long = true;
                self.buf.clear();
            }
            if !too_long {
                self.buf.extend_from_slice(&chunk[..take]);
            }
            self.inner.consume(take);
            read += take;
            if done {
                return Ok((read, too_long));
            }
        }
    }

    /// Next physical line without its terminator; `Err` text when it is not UTF-8 or longer than
    /// the limit.
    fn physical_line(&mut self) -> std::io::Result<Option<(usize, Result<String, String>)>> {
        self.buf.clear();
        let (n, mut too_long) = self.read_line_bounded()?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        too_long |= self.buf.len() > self.max_line;
        if too_long {
            self.buf.clear();
            return Ok(Some((
                self.line_no,
                Err(format!("line longer than {} bytes", self.max_line)),
            )));
        }
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        let mut bytes: &[u8] = &self.buf;
        if self.line_no == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let text = std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|e| format!("line is not valid UTF-8 (byte {})", e.valid_up_to()));
        Ok(Some((self.line_no, text)))
    }

    fn next_nonblank(&mut self) -> std::io::Result<Option<(usize, Result<String, String>)>> {
        if let Some(p) = self.pending.take() {
            return Ok(Some(p));
        }
        while let Some((line, text)) = self.physical_line()? {
            match &text {
                Ok(t) if t.trim().is_empty() => continue,
                _ => return Ok(Some((line, text))),
            }
        }
        Ok(None)
    }

    /// The first non-blank line (kept for `next_record`), used to detect the separator.
    pub(crate) fn peek_first_line(
        &mut self,
    ) -> std::io::Result<Option<(usize, Result<String, String>)>> {
        let first = self.next_nonblank()?;
        self.pending = first.clone();
        Ok(first)
    }

    pub(crate) fn set_sep(&mut self, sep: Sep) {
        self.sep = sep;
    }

    /// The next record, joining lines while a quoted field is open.
    pub(crate) fn next_record(&mut self) -> std::io::Result<Option<Record>> {
        let Some((line, first)) = self.next_nonblank()? else {
            return Ok(None);
        };
        let mut text = match first {
            Ok(t) => t,
            Err(reason) => {
                return Ok(Some(Record {
                    line,
                    fields: Err(reason),
                }))
            }
        };
        let mut lines = 1;
        loop {
            match split(&text, self.sep) {
                Split::Done(fields) => {
                    return Ok(Some(Record {
                        line,
                        fields: Ok(fields),
                    }))
                }
                Split::OpenQuote => {
                    let more = if lines < MAX_RECORD_LINES {
                        self.physical_line()?
                    } else {
                        None
                    };
                    match more {
                        Some((_, Ok(next))) if text.len() + 1 + next.len() > self.max_line => {
                            return Ok(Some(Record {
                                line,
                                fields: Err(format!(
                                    "record (a quoted field spanning lines) longer than {} bytes",
                                    self.max_line
                                )),
                            }))
                        }
                        Some((_, Ok(next))) => {
                            text.push('\n');
                            text.push_str(&next);
                            lines += 1;
                        }
                        Some((_, Err(reason))) => {
                            return Ok(Some(Record {
                                line,
                                fields: Err(reason),
                            }))
                        }
                        None => {
                            return Ok(Some(Record {
                                line,
                                fields: Err("unterminated quoted field".to_string()),
                            }))
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str, sep: Sep) -> Vec<String> {
        match split(text, sep) {
            Split::Done(f) => f,
            Split::OpenQuote => panic!("open quote in {text:?}"),
        }
    }

    #[test]
    fn splits_plain_quoted_and_bitbrains_fields() {
        assert_eq!(fields("a,b,c", Sep::Comma), ["a", "b", "c"]);
        assert_eq!(fields("\"ds\",\"y\"", Sep::Comma), ["ds", "y"]);
        assert_eq!(fields("\"a,\"\"b\"\"\",2", Sep::Comma), ["a,\"b\"", "2"]);
        assert_eq!(fields("1;\t2;\t 3", Sep::Semicolon), ["1", "2", "3"]);
        assert_eq!(fields("1\t\t3", Sep::Tab), ["1", "", "3"]);
        assert_eq!(fields("a,", Sep::Comma), ["a", ""]);
        assert_eq!(fields("\"a\",", Sep::Comma), ["a", ""]);
        assert_eq!(fields("", Sep::Comma), [""]);
        assert!(matches!(split("\"open,1", Sep::Comma), Split::OpenQuote));
    }

    #[test]
    fn detects_separators() {
        assert_eq!(Sep::detect("Timestamp [ms];\tCPU cores"), Sep::Semicolon);
        assert_eq!(Sep::detect("a\tb"), Sep::Tab);
        assert_eq!(Sep::detect("\"x;y\",b"), Sep::Comma);
    }

    #[test]
    fn joins_quoted_newlines_and_skips_blank_lines() {
        let data = "\u{feff}h1,h2\r\n\r\n\"multi\nline\",2\r\nx,\"open\n";
        let mut r = RecordReader::new(data.as_bytes(), DEFAULT_MAX_LINE_BYTES);
        let h = r.next_record().unwrap().unwrap();
        assert_eq!(
            (h.line, h.fields.unwrap()),
            (1, vec!["h1".into(), "h2".into()])
        );
        let a = r.next_record().unwrap().unwrap();
        assert_eq!(a.line, 3);
        assert_eq!(a.fields.unwrap(), ["multi\nline", "2"]);
        let b = r.next_record().unwrap().unwrap();
        assert_eq!(b.line, 5);
        assert!(b.fields.is_err());
        assert!(r.next_record().unwrap().is_none());
    }

    #[test]
    fn lines_over_the_limit_are_reported_and_skipped_without_being_kept() {
        let long = "9".repeat(100);
        let data = format!("a,b\n1,2\n{long},3\r\n12345678,9\n\"x\ny\nzzzzz\",1\n4,5");
        // A 2-byte buffer: lines arrive in many pieces.
        let reader = std::io::BufReader::with_capacity(2, data.as_bytes());
        let mut r = RecordReader::new(reader, 10);
        let mut got = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            got.push((rec.line, rec.fields));
        }
        assert_eq!(got.len(), 6);
        assert_eq!(got[1], (2, Ok(vec!["1".to_string(), "2".to_string()])));
        assert_eq!(got[2], (3, Err("line longer than 10 bytes".to_string())));
        // Exactly at the limit (CRLF not counted) is fine.
        assert!(r.max_line == 10 && got[3].1.is_ok(), "{:?}", got[3]);
        assert_eq!(
            got[4],
            (
                5,
                Err("record (a quoted field spanning lines) longer than 10 bytes".to_string())
            )
        );
        assert_eq!(got[5].0, 8);
        assert!(r.buf.capacity() <= 64, "the long line was not kept");
    }
}
