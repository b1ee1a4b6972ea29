//! The incoming request a handler receives.

use std::cell::Cell;

use crate::abi::RetArea;
use crate::body::{BodyReader, Parent};
use crate::error::{Error, ErrorKind};
use crate::headers::Headers;
use crate::method::Method;
use crate::text::{self, percent_decode};
use crate::wasi::http::types as http;

/// The request being handled: method, target, headers and a body that can
/// be read once, whole ([`Request::body`], [`Request::text`]) or as a stream
/// ([`Request::into_body_reader`]).
#[derive(Debug)]
pub struct Request {
    handle: u32,
    method: Method,
    path_with_query: String,
    authority: Option<String>,
    headers: Headers,
    /// Whether the body was taken; a `Cell` so that the body can be read
    /// through `&self` while route segments borrow the request.
    consumed: Cell<bool>,
}

impl Request {
    /// Reads the parts of an owned `incoming-request` handle.
    pub(crate) fn from_handle(handle: u32) -> Request {
        unsafe {
            let mut ret = RetArea::new();
            http::incoming_request_method(handle, ret.ptr());
            let method = Method::lift(ret.u8(0), || ret.take_string(4));
            http::incoming_request_path_with_query(handle, ret.ptr());
            let path_with_query = ret
                .take_option_string(0)
                .unwrap_or_else(|| String::from("/"));
            http::incoming_request_authority(handle, ret.ptr());
            let authority = ret.take_option_string(0);
            let headers = Headers::take_from_fields(http::incoming_request_headers(handle));
            Request {
                handle,
                method,
                path_with_query,
                authority,
                headers,
                consumed: Cell::new(false),
            }
        }
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path and query as sent, e.g. `/items/7?verbose=1`.
    pub fn path_with_query(&self) -> &str {
        &self.path_with_query
    }

    /// The path without the query, e.g. `/items/7`.
    pub fn path(&self) -> &str {
        text::split(&self.path_with_query, b'?')
            .next()
            .unwrap_or("")
    }

    /// The raw query string without `?` (empty when there is none).
    pub fn query(&self) -> &str {
        text::split_once(&self.path_with_query, b'?').map_or("", |(_, query)| query)
    }

    /// The first value of query parameter `name`, percent-decoded (`+` is a
    /// space).
    pub fn query_param(&self, name: &str) -> Option<String> {
        text::split(self.query(), b'&').find_map(|pair| {
            let (key, value) = text::split_once(pair, b'=').unwrap_or((pair, ""));
            if percent_decode(key) == name {
                Some(percent_decode(value))
            } else {
                None
            }
        })
    }

    /// The non-empty segments of the path, for matching routes:
    /// `/items/7/` gives `["items", "7"]`.
    ///
    /// ```ignore
    /// match (req.method(), req.segments().as_slice()) {
    ///     (&Method::Get, ["items", id]) => get_item(id),
    ///     _ => Response::new(404),
    /// }
    /// ```
    pub fn segments(&self) -> Vec<&str> {
        text::split(self.path(), b'/')
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// The authority (host and port) the request was sent to, if known.
    pub fn authority(&self) -> Option<&str> {
        self.authority.as_deref()
    }

    /// All header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first value of header `name` (ASCII case-insensitive), if UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// Reads the whole body. The body can be taken once; a second call
    /// fails with [`ErrorKind::BodyConsumed`].
    pub fn body(&self) -> Result<Vec<u8>, Error> {
        self.open_body(Parent::None)?.read_all()
    }

    /// Reads the whole body as UTF-8 text.
    pub fn text(&self) -> Result<String, Error> {
        String::from_utf8(self.body()?)
            .map_err(|_| Error::new(ErrorKind::InvalidRequest, "the request body is not UTF-8"))
    }

    /// Turns the request into a stream of its body, to process it as it
    /// arrives (the reader implements [`std::io::Read`]). The reader owns
    /// the request, so it can be moved into a streaming response.
    pub fn into_body_reader(mut self) -> Result<BodyReader, Error> {
        let handle = self.handle;
        let reader = self.open_body(Parent::IncomingRequest(handle));
        if reader.is_ok() {
            // The reader drops the request after its body.
            self.handle = 0;
        }
        reader
    }

    fn open_body(&self, parent: Parent) -> Result<BodyReader, Error> {
        if self.consumed.replace(true) {
            return Err(Error::new(
                ErrorKind::BodyConsumed,
                "the request body was already read",
            ));
        }
        unsafe {
            let mut ret = RetArea::new();
            http::incoming_request_consume(self.handle, ret.ptr());
            if ret.u8(0) != 0 {
                return Err(Error::new(
                    ErrorKind::BodyConsumed,
                    "the request body was already read",
                ));
            }
            BodyReader::open(ret.u32(4), parent)
        }
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        if self.handle != 0 {
            unsafe { http::drop_incoming_request(self.handle) }
        }
    }
}
