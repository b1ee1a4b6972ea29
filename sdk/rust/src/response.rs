//! The response a handler returns, and how it reaches the host.

use std::fmt;
use std::io;

use crate::abi::RetArea;
use crate::body::{self, BodyWriter, Content};
use crate::headers::Headers;
use crate::log::{self, Stream};
use crate::wasi::http::types as http;

/// An HTTP response: status, headers and a body that is either bytes or a
/// function that streams it.
///
/// ```ignore
/// Response::json(r#"{"ok":true}"#).with_status(201).with_header("x-id", "7")
/// ```
pub struct Response {
    status: u16,
    headers: Headers,
    content: Content,
}

impl Response {
    /// A response with `status`, no headers and an empty body.
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Headers::default(),
            content: Content::Bytes(Vec::new()),
        }
    }

    /// 200 with a `text/plain; charset=utf-8` body.
    pub fn text(body: impl Into<String>) -> Response {
        Response::new(200)
            .with_header("content-type", "text/plain; charset=utf-8")
            .with_body(body.into())
    }

    /// 200 with an `application/json` body (already serialized).
    pub fn json(body: impl Into<String>) -> Response {
        Response::new(200)
            .with_header("content-type", "application/json")
            .with_body(body.into())
    }

    /// Sets the status code.
    pub fn with_status(mut self, status: u16) -> Response {
        self.status = status;
        self
    }

    /// Appends a header field (a name may repeat, as with `set-cookie`).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Response {
        self.headers.push(name.into(), value.into());
        self
    }

    /// Sets the body. A `content-length` header is added when the response
    /// is sent unless one was given.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.content = Content::Bytes(body.into());
        self
    }

    /// Streams the body: `produce` runs after the status and headers were
    /// sent and writes the body through a [`BodyWriter`] (which implements
    /// [`std::io::Write`]). If it fails, the host sees a truncated body.
    ///
    /// ```ignore
    /// Response::new(200).with_stream(move |out| {
    ///     for i in 0..3 { writeln!(out, "line {}", i)?; }
    ///     Ok(())
    /// })
    /// ```
    pub fn with_stream<F>(mut self, produce: F) -> Response
    where
        F: FnOnce(&mut BodyWriter) -> io::Result<()> + 'static,
    {
        self.content = Content::Stream(Box::new(produce));
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The body, unless it is streamed.
    pub fn body(&self) -> Option<&[u8]> {
        match &self.content {
            Content::Bytes(bytes) => Some(bytes),
            Content::Stream(_) => None,
        }
    }

    /// Hands the response to the host through an owned `response-outparam`,
    /// then writes the body. Failures after the status was sent can only be
    /// logged.
    pub(crate) fn send(self, outparam: u32) {
        let Response {
            status,
            mut headers,
            content,
        } = self;
        if let Content::Bytes(bytes) = &content {
            if status >= 200
                && status != 204
                && status != 304
                && !headers.contains("content-length")
            {
                headers.push(
                    String::from("content-length"),
                    decimal(bytes.len()).into_bytes(),
                );
            }
        }
        unsafe {
            let response = http::outgoing_response_new(headers.to_fields());
            if http::outgoing_response_set_status_code(response, status as i32) != 0 {
                log::write_str(
                    Stream::Stderr,
                    "micron: invalid status code, answering 500: ",
                    &decimal(status as usize),
                );
                http::outgoing_response_set_status_code(response, 500);
            }
            let mut ret = RetArea::new();
            http::outgoing_response_body(response, ret.ptr());
            let body = if ret.u8(0) == 0 {
                Some(ret.u32(4))
            } else {
                None
            };
            http::response_outparam_set(outparam, 0, response as i32, 0, 0, 0, 0, 0, 0);
            if let Some(body) = body {
                if let Err(error) = body::send(body, content) {
                    log::write_str(
                        Stream::Stderr,
                        "micron: writing the response body failed: ",
                        error.message(),
                    );
                }
            }
        }
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &self.body())
            .finish()
    }
}

/// What a handler may return: a [`Response`], text (200 `text/plain`), or a
/// `Result` whose error becomes a logged 500.
pub trait IntoResponse {
    /// Converts into the response to send.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::text(self)
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        Response::text(self)
    }
}

impl<T: IntoResponse, E: fmt::Display> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(ok) => ok.into_response(),
            Err(error) => {
                // The client gets a generic message; the details go to the log.
                log::write_line(Stream::Stderr, format_args!("handler error: {}", error));
                Response::text("Internal Server Error\n").with_status(500)
            }
        }
    }
}

/// `n` in decimal without the formatting machinery (smaller components).
pub(crate) fn decimal(n: usize) -> String {
    let mut digits = Vec::with_capacity(20);
    push_decimal(&mut digits, n);
    // Only ASCII digits were pushed.
    unsafe { String::from_utf8_unchecked(digits) }
}

fn push_decimal(out: &mut Vec<u8>, n: usize) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(b'0' + (n % 10) as u8);
}
