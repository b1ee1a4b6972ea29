//! Logging through `wasi:cli/stdout` and `wasi:cli/stderr`.
//!
//! `std`'s `println!` is a no-op on `wasm32-unknown-unknown`; use
//! [`log!`](crate::log!) and [`elog!`](crate::elog!) instead. Each call writes
//! one line; the host attributes it to the invocation.

use std::fmt::{self, Write as _};

use crate::body;
use crate::wasi::cli::{stderr, stdout};
use crate::wasi::io::streams;

/// Where a log line goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// `wasi:cli/stdout`.
    Stdout,
    /// `wasi:cli/stderr`.
    Stderr,
}

/// Formats `args` and writes it with a trailing newline. The macros call
/// this; call it directly to choose the stream at run time.
pub fn write_line(to: Stream, args: fmt::Arguments<'_>) {
    let mut line = String::new();
    let _ = line.write_fmt(args);
    line.push('\n');
    write_bytes(to, line.as_bytes());
}

/// Writes `prefix`, `text` and a newline without the formatting machinery
/// (for the SDK's own messages, to keep components small).
pub(crate) fn write_str(to: Stream, prefix: &str, text: &str) {
    let mut line = Vec::with_capacity(prefix.len() + text.len() + 1);
    line.extend_from_slice(prefix.as_bytes());
    line.extend_from_slice(text.as_bytes());
    line.push(b'\n');
    write_bytes(to, &line);
}

fn write_bytes(to: Stream, bytes: &[u8]) {
    unsafe {
        let stream = match to {
            Stream::Stdout => stdout::get_stdout(),
            Stream::Stderr => stderr::get_stderr(),
        };
        // A log line that cannot be written is dropped: there is nowhere
        // else to report it.
        let _ = body::write_all(stream, bytes);
        streams::drop_output_stream(stream);
    }
}

/// Writes a formatted line to the host's log (stdout), like `println!`.
///
/// ```ignore
/// micron::log!("served {} in {:?}", path, started.elapsed());
/// ```
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::log::write_line($crate::log::Stream::Stdout, ::std::format_args!($($arg)*))
    };
}

/// Writes a formatted line to the host's error log (stderr), like `eprintln!`.
#[macro_export]
macro_rules! elog {
    ($($arg:tt)*) => {
        $crate::log::write_line($crate::log::Stream::Stderr, ::std::format_args!($($arg)*))
    };
}
