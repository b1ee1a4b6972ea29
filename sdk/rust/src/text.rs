//! String helpers that cannot panic. Slicing a `str` by index (and `std`'s
//! char searchers) can panic, and every panic message links several KB of
//! formatting code into the component, so the SDK splits on ASCII bytes
//! and slices with `str::get` instead.

/// The parts of `text` between occurrences of the ASCII byte `separator`,
/// like `text.split(separator as char)`.
pub(crate) fn split(text: &str, separator: u8) -> Split<'_> {
    Split {
        rest: Some(text),
        separator,
    }
}

/// `text` split at the first `separator`, like `str::split_once`.
pub(crate) fn split_once(text: &str, separator: u8) -> Option<(&str, &str)> {
    let at = text.bytes().position(|b| b == separator)?;
    // An ASCII byte always sits on a char boundary, so both `get`s succeed.
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// See [`split`].
pub(crate) struct Split<'a> {
    rest: Option<&'a str>,
    separator: u8,
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match split_once(rest, self.separator) {
            Some((part, after)) => {
                self.rest = Some(after);
                Some(part)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// Decodes `%XX` escapes and `+` (a space in query strings); invalid
/// escapes are kept as written. If the decoded bytes are not UTF-8, the
/// text is returned as given.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    if !bytes.iter().any(|&b| b == b'%' || b == b'+') {
        return String::from(text);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes.iter();
    while let Some(&b) = rest.next() {
        if b == b'+' {
            out.push(b' ');
            continue;
        }
        if b == b'%' {
            let mut ahead = rest.clone();
            let high = ahead.next().and_then(|&h| hex(h));
            let low = ahead.next().and_then(|&l| hex(l));
            if let (Some(high), Some(low)) = (high, low) {
                out.push(high * 16 + low);
                rest = ahead;
                continue;
            }
        }
        out.push(b);
    }
    String::from_utf8(out).unwrap_or_else(|_| String::from(text))
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
