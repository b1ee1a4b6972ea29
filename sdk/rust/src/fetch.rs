//! Outbound HTTP through `wasi:http/outgoing-handler`. The host decides which
//! destinations a function may reach; a refused request fails with
//! [`ErrorKind::Http`] and the code `HTTP-request-denied`.

use std::time::Duration;

use crate::abi::RetArea;
use crate::body::{self, BodyReader, Content, Parent};
use crate::error::{Error, ErrorKind};
use crate::headers::Headers;
use crate::method::Method;
use crate::text;
use crate::wasi::http::{outgoing_handler, types as http};
use crate::wasi::io::poll;

/// `GET url` and wait for the response head.
///
/// ```ignore
/// let mut upstream = micron::fetch("https://example.com/")?;
/// let html = upstream.text()?;
/// ```
pub fn fetch(url: &str) -> Result<FetchResponse, Error> {
    FetchRequest::get(url).send()
}

/// An outbound request under construction; [`FetchRequest::send`] sends it.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    method: Method,
    url: String,
    headers: Headers,
    body: Vec<u8>,
    timeout: Option<Duration>,
}

impl FetchRequest {
    /// A request with `method` to an absolute `http://` or `https://` URL.
    pub fn new(method: Method, url: impl Into<String>) -> FetchRequest {
        FetchRequest {
            method,
            url: url.into(),
            headers: Headers::default(),
            body: Vec::new(),
            timeout: None,
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> FetchRequest {
        FetchRequest::new(Method::Get, url)
    }

    /// A `POST` request.
    pub fn post(url: impl Into<String>) -> FetchRequest {
        FetchRequest::new(Method::Post, url)
    }

    /// Appends a header field.
    pub fn with_header(
        mut self,
        name: impl Into<String>,
        value: impl Into<Vec<u8>>,
    ) -> FetchRequest {
        self.headers.push(name.into(), value.into());
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> FetchRequest {
        self.body = body.into();
        self
    }

    /// Limits the connect time, the time to the first response byte and the
    /// time between response bytes, each to `timeout` (where the host
    /// supports it).
    pub fn with_timeout(mut self, timeout: Duration) -> FetchRequest {
        self.timeout = Some(timeout);
        self
    }

    /// Sends the request and the body, then waits for the status and headers;
    /// the response body is read from the returned [`FetchResponse`].
    pub fn send(self) -> Result<FetchResponse, Error> {
        let target = Target::parse(&self.url)?;
        unsafe {
            let (request, body) = self.create(&target)?;
            let options = self.timeout.map(request_options);
            // wasi:http's order: take the body, hand the request over, then
            // write the body, so a large body streams while the request is sent.
            let mut ret = RetArea::new();
            outgoing_handler::handle(
                request,
                options.is_some() as i32,
                options.unwrap_or(0),
                ret.ptr(),
            );
            if ret.u8(0) != 0 {
                http::drop_outgoing_body(body);
                return Err(Error::from_error_code(&ret, 8));
            }
            let future = ret.u32(8);
            if let Err(error) = body::send(body, Content::Bytes(self.body)) {
                http::drop_future_incoming_response(future);
                return Err(error);
            }
            wait(future)
        }
    }

    /// Creates the `outgoing-request` with method, scheme, authority, path
    /// and headers, and takes its `outgoing-body`.
    unsafe fn create(&self, target: &Target<'_>) -> Result<(u32, u32), Error> {
        let request = http::outgoing_request_new(self.headers.to_fields());
        if let Err(part) = set_target(request, &self.method, target) {
            http::drop_outgoing_request(request);
            let mut message = String::from("the host rejected the request's ");
            message.push_str(part);
            return Err(Error::new(ErrorKind::InvalidRequest, message));
        }
        let mut ret = RetArea::new();
        http::outgoing_request_body(request, ret.ptr());
        if ret.u8(0) != 0 {
            http::drop_outgoing_request(request);
            let message = "the request body was already taken";
            return Err(Error::new(ErrorKind::InvalidRequest, message));
        }
        Ok((request, ret.u32(4)))
    }
}

/// Sets everything but the headers on an `outgoing-request`; on failure,
/// names the part the host refused.
unsafe fn set_target(
    request: u32,
    method: &Method,
    target: &Target<'_>,
) -> Result<(), &'static str> {
    let (tag, other) = method.lower();
    if http::outgoing_request_set_method(request, tag, other.as_ptr(), other.len()) != 0 {
        return Err("method");
    }
    let (tag, other) = target.scheme;
    if http::outgoing_request_set_scheme(request, 1, tag, other.as_ptr(), other.len()) != 0 {
        return Err("scheme");
    }
    let authority = target.authority;
    if http::outgoing_request_set_authority(request, 1, authority.as_ptr(), authority.len()) != 0 {
        return Err("authority");
    }
    let path = &target.path_with_query;
    if http::outgoing_request_set_path_with_query(request, 1, path.as_ptr(), path.len()) != 0 {
        return Err("path");
    }
    Ok(())
}

/// A `request-options` with every timeout set to `timeout`. A host without
/// timeouts answers `err` to the setters; the request still goes out.
fn request_options(timeout: Duration) -> u32 {
    let nanos = nanos(timeout);
    unsafe {
        let options = http::request_options_new();
        http::request_options_set_connect_timeout(options, 1, nanos);
        http::request_options_set_first_byte_timeout(options, 1, nanos);
        http::request_options_set_between_bytes_timeout(options, 1, nanos);
        options
    }
}

/// Blocks until the `future-incoming-response` resolves and takes it.
unsafe fn wait(future: u32) -> Result<FetchResponse, Error> {
    let ready = http::future_incoming_response_subscribe(future);
    poll::block(ready);
    poll::drop_pollable(ready);
    let mut ret = RetArea::new();
    http::future_incoming_response_get(future, ret.ptr());
    http::drop_future_incoming_response(future);
    // option (some @0) of result (ok @8) of result<incoming-response, error-code> @16.
    if ret.u8(0) == 0 || ret.u8(8) != 0 {
        return Err(Error::new(ErrorKind::Http, "the host gave no response"));
    }
    if ret.u8(16) != 0 {
        return Err(Error::from_error_code(&ret, 24));
    }
    Ok(FetchResponse::from_handle(ret.u32(24)))
}

/// The response to a [`FetchRequest`]: status and headers are there; the
/// body is read on demand, once.
#[derive(Debug)]
pub struct FetchResponse {
    status: u16,
    headers: Headers,
    body: Option<BodyReader>,
}

impl FetchResponse {
    unsafe fn from_handle(response: u32) -> FetchResponse {
        let status = http::incoming_response_status(response) as u16;
        let headers = Headers::take_from_fields(http::incoming_response_headers(response));
        let mut ret = RetArea::new();
        http::incoming_response_consume(response, ret.ptr());
        let body = if ret.u8(0) == 0 {
            BodyReader::open(ret.u32(4), Parent::IncomingResponse(response)).ok()
        } else {
            http::drop_incoming_response(response);
            None
        };
        FetchResponse {
            status,
            headers,
            body,
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The first value of header `name` (ASCII case-insensitive), if UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// Reads the whole body.
    pub fn body(&mut self) -> Result<Vec<u8>, Error> {
        match self.body.take() {
            Some(mut reader) => reader.read_all(),
            None => Err(Error::new(
                ErrorKind::BodyConsumed,
                "the response body was already read",
            )),
        }
    }

    /// Reads the whole body as UTF-8 text.
    pub fn text(&mut self) -> Result<String, Error> {
        String::from_utf8(self.body()?)
            .map_err(|_| Error::new(ErrorKind::Io, "the response body is not UTF-8"))
    }

    /// The body as a stream (implements [`std::io::Read`]), e.g. to pass it
    /// on with [`Response::with_stream`](crate::Response::with_stream).
    pub fn into_body_reader(mut self) -> Result<BodyReader, Error> {
        self.body.take().ok_or_else(|| {
            Error::new(
                ErrorKind::BodyConsumed,
                "the response body was already read",
            )
        })
    }
}

/// The parts of an absolute URL that `outgoing-request` takes.
struct Target<'a> {
    /// `scheme` case (0 HTTP, 1 HTTPS, 2 other) and, for other, its name.
    scheme: (i32, &'a str),
    authority: &'a str,
    path_with_query: String,
}

impl<'a> Target<'a> {
    fn parse(url: &'a str) -> Result<Target<'a>, Error> {
        let invalid = || {
            let mut message = String::from("not an absolute http(s) URL: ");
            message.push_str(url);
            Error::new(ErrorKind::InvalidUrl, message)
        };
        let (scheme, rest) = text::split_once(url, b':').ok_or_else(invalid)?;
        let rest = rest.strip_prefix("//").ok_or_else(invalid)?;
        let scheme = if scheme.eq_ignore_ascii_case("http") {
            (0, "")
        } else if scheme.eq_ignore_ascii_case("https") {
            (1, "")
        } else if scheme.is_empty() {
            return Err(invalid());
        } else {
            (2, scheme)
        };
        let rest = text::split(rest, b'#').next().unwrap_or("");
        let authority = text::split(rest, b'/').next().unwrap_or("");
        let authority = text::split(authority, b'?').next().unwrap_or("");
        if authority.is_empty() || authority.bytes().any(|b| b == b'@') {
            return Err(invalid());
        }
        let mut path_with_query = String::from(rest.get(authority.len()..).unwrap_or(""));
        if !path_with_query.starts_with('/') {
            path_with_query.insert(0, '/');
        }
        Ok(Target {
            scheme,
            authority,
            path_with_query,
        })
    }
}

fn nanos(duration: Duration) -> u64 {
    let nanos = duration.as_nanos();
    if nanos > u64::MAX as u128 {
        u64::MAX
    } else {
        nanos as u64
    }
}
