//! Just enough JSON for functions without serde: quoting strings for output
//! and checking that input is well-formed.

/// `text` as a JSON string literal, quotes included.
///
/// ```ignore
/// let body = format!("{{\"id\":{}}}", micron::json::quote(id));
/// ```
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(if (c as u32) < 0x10 { '0' } else { '1' });
                out.push(std::char::from_digit(c as u32 & 15, 16).unwrap_or('0'));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// How deeply arrays and objects may nest (each level uses guest stack).
const MAX_DEPTH: usize = 64;

/// Checks that `text` is one well-formed JSON value (RFC 8259, surrounding
/// whitespace allowed). On failure, returns the byte offset of the problem.
pub fn validate(text: &str) -> Result<(), usize> {
    let mut parser = Validator {
        bytes: text.as_bytes(),
        pos: 0,
    };
    parser.value(0)?;
    parser.whitespace();
    if parser.pos == parser.bytes.len() {
        Ok(())
    } else {
        Err(parser.pos)
    }
}

struct Validator<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Validator<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), usize> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.pos)
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), usize> {
        self.whitespace();
        match self.peek() {
            Some(b'{') => self.sequence(depth, b'}', true),
            Some(b'[') => self.sequence(depth, b']', false),
            Some(b'"') => self.string(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.pos),
        }
    }

    /// An object (`keyed`) or an array, from its opening bracket.
    fn sequence(&mut self, depth: usize, close: u8, keyed: bool) -> Result<(), usize> {
        if depth >= MAX_DEPTH {
            return Err(self.pos);
        }
        self.pos += 1;
        self.whitespace();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(());
        }
        loop {
            if keyed {
                self.whitespace();
                self.string()?;
                self.whitespace();
                self.expect(b':')?;
            }
            self.value(depth + 1)?;
            self.whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b) if b == close => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.pos),
            }
        }
    }

    fn string(&mut self) -> Result<(), usize> {
        self.expect(b'"')?;
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1
                        }
                        Some(b'u') => {
                            self.pos += 1;
                            for _ in 0..4 {
                                match self.peek() {
                                    Some(b) if b.is_ascii_hexdigit() => self.pos += 1,
                                    _ => return Err(self.pos),
                                }
                            }
                        }
                        _ => return Err(self.pos),
                    }
                }
                Some(b) if b >= 0x20 => self.pos += 1,
                _ => return Err(self.pos),
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), usize> {
        if self
            .bytes
            .get(self.pos..)
            .map_or(false, |rest| rest.starts_with(word))
        {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.pos)
        }
    }

    fn number(&mut self) -> Result<(), usize> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.pos),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.digits_required()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.digits_required()?;
        }
        Ok(())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn digits_required(&mut self) -> Result<(), usize> {
        let start = self.pos;
        self.digits();
        if self.pos == start {
            Err(self.pos)
        } else {
            Ok(())
        }
    }
}
