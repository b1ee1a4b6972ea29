//! Streaming bodies: [`BodyReader`] over a `wasi:io` input-stream and
//! [`BodyWriter`] over an output-stream.

use std::io;

use crate::abi::{self, RetArea};
use crate::error::{Error, ErrorKind};
use crate::wasi::http::types as http;
use crate::wasi::io::streams;

/// `blocking-write-and-flush` accepts at most this many bytes a call.
const MAX_WRITE: usize = 4096;
/// How much [`BodyReader::read_all`] asks for at a time.
const READ_CHUNK: u64 = 64 * 1024;

/// The resource an `incoming-body` came from; it is dropped after the body.
#[derive(Debug)]
pub(crate) enum Parent {
    None,
    IncomingRequest(u32),
    IncomingResponse(u32),
}

/// Reads an incoming body (a request's or a fetched response's) as it
/// arrives. Implements [`std::io::Read`], so `io::copy`, `BufReader` and
/// `read_to_end` work; a body can be read once.
#[derive(Debug)]
pub struct BodyReader {
    stream: u32,
    body: u32,
    parent: Parent,
    done: bool,
}

impl BodyReader {
    /// Opens the stream of an owned `incoming-body`.
    pub(crate) fn open(body: u32, parent: Parent) -> Result<BodyReader, Error> {
        unsafe {
            let mut ret = RetArea::new();
            http::incoming_body_stream(body, ret.ptr());
            // Built first so that an early return drops the body and its parent.
            let mut reader = BodyReader {
                stream: 0,
                body,
                parent,
                done: true,
            };
            if ret.u8(0) != 0 {
                return Err(Error::new(
                    ErrorKind::BodyConsumed,
                    "the body stream was already taken",
                ));
            }
            reader.stream = ret.u32(4);
            reader.done = false;
            Ok(reader)
        }
    }

    /// Reads up to `max` bytes, waiting until at least one is available;
    /// an empty vector means the body has ended.
    pub fn read_chunk(&mut self, max: usize) -> Result<Vec<u8>, Error> {
        if self.done || max == 0 {
            return Ok(Vec::new());
        }
        unsafe {
            let mut ret = RetArea::new();
            streams::blocking_read(self.stream, max as u64, ret.ptr());
            if ret.u8(0) == 0 {
                return Ok(abi::take_bytes(ret.u32(4), ret.u32(8)));
            }
            self.done = true;
            match Error::from_stream_error(&ret, 4) {
                None => Ok(Vec::new()),
                Some(error) => Err(error),
            }
        }
    }

    /// Reads the rest of the body into memory.
    pub fn read_all(&mut self) -> Result<Vec<u8>, Error> {
        let mut all = Vec::new();
        while !self.done {
            let chunk = self.read_chunk(READ_CHUNK as usize)?;
            if all.is_empty() {
                all = chunk;
            } else {
                all.extend_from_slice(&chunk);
            }
        }
        Ok(all)
    }
}

impl io::Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let chunk = self.read_chunk(buf.len())?;
            if !chunk.is_empty() || self.done {
                // `zip` rather than slicing: no panic path (see `text.rs`).
                let mut n = 0;
                for (to, from) in buf.iter_mut().zip(&chunk) {
                    *to = *from;
                    n += 1;
                }
                return Ok(n);
            }
        }
    }
}

impl Drop for BodyReader {
    fn drop(&mut self) {
        // Children before parents: the stream, the body, then its owner.
        unsafe {
            if self.stream != 0 {
                streams::drop_input_stream(self.stream);
            }
            http::drop_incoming_body(self.body);
            match self.parent {
                Parent::None => {}
                Parent::IncomingRequest(handle) => http::drop_incoming_request(handle),
                Parent::IncomingResponse(handle) => http::drop_incoming_response(handle),
            }
        }
    }
}

/// Writes a response body as it is produced (see
/// [`Response::with_stream`](crate::Response::with_stream)). Implements
/// [`std::io::Write`]; every write is flushed to the host.
#[derive(Debug)]
pub struct BodyWriter {
    stream: u32,
    written: u64,
}

impl BodyWriter {
    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }
}

impl io::Write for BodyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(MAX_WRITE);
        unsafe { write_chunk(self.stream, &buf[..n])? };
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes `bytes` to an output stream in chunks the host accepts.
pub(crate) unsafe fn write_all(stream: u32, bytes: &[u8]) -> Result<(), Error> {
    for chunk in bytes.chunks(MAX_WRITE) {
        write_chunk(stream, chunk)?;
    }
    Ok(())
}

unsafe fn write_chunk(stream: u32, chunk: &[u8]) -> Result<(), Error> {
    let mut ret = RetArea::new();
    streams::blocking_write_and_flush(stream, chunk.as_ptr(), chunk.len(), ret.ptr());
    if ret.u8(0) == 0 {
        return Ok(());
    }
    Err(Error::from_stream_error(&ret, 4)
        .unwrap_or_else(|| Error::new(ErrorKind::Io, "the body stream was closed")))
}

/// What an outgoing body is filled with.
pub(crate) enum Content {
    Bytes(Vec<u8>),
    Stream(Box<dyn Produce>),
}

/// A streaming body's producer. A trait object rather than a boxed closure
/// so that the error conversion (and the formatting code it needs) is only
/// linked into components that stream.
pub(crate) trait Produce {
    fn produce(self: Box<Self>, out: &mut BodyWriter) -> Result<(), Error>;
}

impl<F: FnOnce(&mut BodyWriter) -> io::Result<()>> Produce for F {
    fn produce(self: Box<Self>, out: &mut BodyWriter) -> Result<(), Error> {
        (*self)(out).map_err(|e| {
            // Keep the SDK's own message (a failed read or write); formatting
            // an arbitrary io::Error would link its Display and Debug code.
            match e
                .into_inner()
                .and_then(|inner| inner.downcast::<Error>().ok())
            {
                Some(error) => *error,
                None => Error::new(ErrorKind::Io, "the body producer returned an error"),
            }
        })
    }
}

/// Writes `content` into an owned `outgoing-body` and finishes it. On
/// failure the body is dropped unfinished, which tells the host it is
/// incomplete (wasi:http's rule), and the error is returned.
pub(crate) fn send(body: u32, content: Content) -> Result<(), Error> {
    unsafe {
        let mut ret = RetArea::new();
        http::outgoing_body_write(body, ret.ptr());
        if ret.u8(0) != 0 {
            http::drop_outgoing_body(body);
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                "the body stream was already taken",
            ));
        }
        let stream = ret.u32(4);
        let written = match content {
            Content::Bytes(bytes) => write_all(stream, &bytes),
            Content::Stream(producer) => producer.produce(&mut BodyWriter { stream, written: 0 }),
        };
        streams::drop_output_stream(stream);
        if let Err(error) = written {
            http::drop_outgoing_body(body);
            return Err(error);
        }
        http::outgoing_body_finish(body, 0, 0, ret.ptr());
        if ret.u8(0) != 0 {
            // Not decoded (that would link every error-code name into every
            // component); in practice it is a content-length mismatch.
            return Err(Error::new(
                ErrorKind::Http,
                "the host refused to finish the body (does content-length match it?)",
            ));
        }
        Ok(())
    }
}
