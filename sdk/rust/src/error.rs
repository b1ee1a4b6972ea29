//! The one error type of the SDK.

use std::fmt;
use std::io;

use crate::abi::RetArea;
use crate::wasi::io::error as io_error;

/// What kind of failure an [`Error`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The host answered an HTTP operation with a `wasi:http` `error-code`
    /// (see [`Error::http_error_code`]); for outbound requests
    /// `HTTP-request-denied` means the host's allow-list refused the request.
    Http,
    /// A body stream failed.
    Io,
    /// A URL given to [`fetch`](crate::fetch) could not be parsed.
    InvalidUrl,
    /// The host rejected part of a request (method, scheme, authority, path,
    /// a header) or a resource could not be obtained.
    InvalidRequest,
    /// The body was already taken (a body can be read once).
    BodyConsumed,
}

/// An error from the host or from the SDK, with a readable message.
pub struct Error {
    kind: ErrorKind,
    code: Option<&'static str>,
    message: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            code: None,
            message: message.into(),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The `wasi:http` `error-code` case name exactly as in the WIT (for
    /// example `"HTTP-request-denied"` or `"connection-refused"`), when the
    /// host reported one.
    pub fn http_error_code(&self) -> Option<&'static str> {
        self.code
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Reads an `error-code` variant the host wrote at `offset` of `ret`.
    pub(crate) unsafe fn from_error_code(ret: &RetArea, offset: usize) -> Error {
        let tag = ret.u8(offset) as usize;
        let name = ERROR_CODE_NAMES
            .get(tag)
            .copied()
            .unwrap_or("unknown-error-code");
        let mut message = String::from(name);
        // internal-error(option<string>) carries the only message worth showing.
        if tag == INTERNAL_ERROR {
            if let Some(detail) = ret.take_option_string(offset + 8) {
                message.push_str(": ");
                message.push_str(&detail);
            }
        }
        Error {
            kind: ErrorKind::Http,
            code: Some(name),
            message,
        }
    }

    /// Reads a `stream-error` the host wrote at `offset`; `None` means
    /// `closed` (the normal end of a stream).
    pub(crate) unsafe fn from_stream_error(ret: &RetArea, offset: usize) -> Option<Error> {
        if ret.u8(offset) != 0 {
            return None;
        }
        let handle = ret.u32(offset + 4);
        let mut text = RetArea::new();
        io_error::to_debug_string(handle, text.ptr());
        io_error::drop_error(handle);
        Some(Error::new(ErrorKind::Io, text.take_string(0)))
    }
}

// By hand: a derived Debug links the struct-formatting machinery (several KB)
// into every component whose errors become `io::Error`s.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("micron::Error(")?;
        f.write_str(&self.message)?;
        f.write_str(")")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(error: Error) -> io::Error {
        io::Error::new(io::ErrorKind::Other, error)
    }
}

const INTERNAL_ERROR: usize = 38;

/// `wasi:http/types.error-code` cases in declaration order.
static ERROR_CODE_NAMES: [&str; 39] = [
    "DNS-timeout",
    "DNS-error",
    "destination-not-found",
    "destination-unavailable",
    "destination-IP-prohibited",
    "destination-IP-unroutable",
    "connection-refused",
    "connection-terminated",
    "connection-timeout",
    "connection-read-timeout",
    "connection-write-timeout",
    "connection-limit-reached",
    "TLS-protocol-error",
    "TLS-certificate-error",
    "TLS-alert-received",
    "HTTP-request-denied",
    "HTTP-request-length-required",
    "HTTP-request-body-size",
    "HTTP-request-method-invalid",
    "HTTP-request-URI-invalid",
    "HTTP-request-URI-too-long",
    "HTTP-request-header-section-size",
    "HTTP-request-header-size",
    "HTTP-request-trailer-section-size",
    "HTTP-request-trailer-size",
    "HTTP-response-incomplete",
    "HTTP-response-header-section-size",
    "HTTP-response-header-size",
    "HTTP-response-body-size",
    "HTTP-response-trailer-section-size",
    "HTTP-response-trailer-size",
    "HTTP-response-transfer-coding",
    "HTTP-response-content-coding",
    "HTTP-response-timeout",
    "HTTP-upgrade-failed",
    "HTTP-protocol-error",
    "loop-detected",
    "configuration-error",
    "internal-error",
];
