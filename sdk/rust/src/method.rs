//! HTTP methods.

use std::fmt;

/// An HTTP method (`wasi:http/types.method`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `HEAD`.
    Head,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
    /// `CONNECT`.
    Connect,
    /// `OPTIONS`.
    Options,
    /// `TRACE`.
    Trace,
    /// `PATCH`.
    Patch,
    /// Any other method, as sent.
    Other(String),
}

impl Method {
    /// The method as it appears on the wire (`"GET"`, …).
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Connect => "CONNECT",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Patch => "PATCH",
            Method::Other(other) => other,
        }
    }

    /// The `method` variant's case index and, for `other`, its string.
    pub(crate) fn lower(&self) -> (i32, &str) {
        match self {
            Method::Get => (0, ""),
            Method::Head => (1, ""),
            Method::Post => (2, ""),
            Method::Put => (3, ""),
            Method::Delete => (4, ""),
            Method::Connect => (5, ""),
            Method::Options => (6, ""),
            Method::Trace => (7, ""),
            Method::Patch => (8, ""),
            Method::Other(other) => (9, other),
        }
    }

    /// The inverse of [`Method::lower`]; `other` is only read for case 9.
    pub(crate) fn lift(tag: u8, other: impl FnOnce() -> String) -> Method {
        match tag {
            0 => Method::Get,
            1 => Method::Head,
            2 => Method::Post,
            3 => Method::Put,
            4 => Method::Delete,
            5 => Method::Connect,
            6 => Method::Options,
            7 => Method::Trace,
            8 => Method::Patch,
            _ => Method::Other(other()),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
