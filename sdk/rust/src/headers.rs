//! HTTP header lists.

use crate::abi::{self, RetArea};
use crate::wasi::http::types as http;

/// An ordered list of header fields as the host delivered them (names are
/// usually lower-case). Lookups ignore ASCII case.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    entries: Vec<(String, Vec<u8>)>,
}

impl Headers {
    /// The first value of `name` if it is valid UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    /// Every value of `name`, as bytes, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.entries
            .iter()
            .filter(move |(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.entries
            .iter()
            .any(|(key, _)| key.eq_ignore_ascii_case(name))
    }

    /// Every field as (name, value bytes), in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_slice()))
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends a field (used to build outbound requests and responses).
    pub(crate) fn push(&mut self, name: String, value: Vec<u8>) {
        self.entries.push((name, value));
    }

    /// Copies the entries of a `fields` handle and drops the handle.
    pub(crate) unsafe fn take_from_fields(fields: u32) -> Headers {
        let mut ret = RetArea::new();
        http::fields_entries(fields, ret.ptr());
        http::drop_fields(fields);
        Headers {
            entries: abi::take_pairs(&ret),
        }
    }

    /// Creates an owned `fields` handle with these entries. Fields the host
    /// refuses (forbidden or malformed names and values) are skipped and
    /// reported on stderr, so one bad header never loses the response.
    pub(crate) fn to_fields(&self) -> u32 {
        unsafe {
            let fields = http::fields_new();
            let mut ret = RetArea::new();
            for (name, value) in &self.entries {
                http::fields_append(
                    fields,
                    name.as_ptr(),
                    name.len(),
                    value.as_ptr(),
                    value.len(),
                    ret.ptr(),
                );
                if ret.u8(0) != 0 {
                    crate::log::write_str(
                        crate::log::Stream::Stderr,
                        "micron: the host refused header ",
                        name,
                    );
                }
            }
            fields
        }
    }
}
