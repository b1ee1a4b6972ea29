//! # micron — HTTP functions in Rust for the Micron host
//!
//! Write a handler, export it, and build a `wasi:http@0.2.12` component:
//!
//! ```ignore
//! use micron::{Request, Response};
//!
//! fn hello(req: Request) -> Response {
//!     Response::text(format!("Hello from {}!\n", req.path()))
//! }
//!
//! micron::export_handler!(hello);
//! ```
//!
//! Build with `micron build` (or see the README for plain `rustc`/`cargo`).
//! The crate has no dependencies: the canonical-ABI bindings in [`wasi`] are
//! written by hand. It targets `wasm32-unknown-unknown` with `std`, which
//! imports no WASI by itself, so the component needs no preview1 adapter;
//! everything the function does with the outside world goes through the
//! imports declared here.
//!
//! What `std` cannot do on that target is provided here instead:
//! [`log!`]/[`elog!`] for `println!`, [`env`](mod@env) for `std::env`,
//! [`clock::Instant`] for `std::time::Instant`, [`fetch`] for networking.
//!
//! Source compatibility: Rust 1.63 (Debian bookworm) and later, edition 2021.

#![warn(missing_docs)]

mod abi;
#[cfg(target_arch = "wasm32")]
mod arena;
mod body;
pub mod clock;
pub mod env;
mod error;
mod fetch;
mod headers;
pub mod json;
pub mod log;
mod method;
mod request;
mod response;
mod text;
/// The raw canonical-ABI imports the safe API is built on: `unsafe`, one
/// function per WIT function, handles as `u32`. For what the safe API does
/// not cover; follow the WIT's ownership rules exactly.
#[allow(missing_docs)]
pub mod wasi;

pub use body::{BodyReader, BodyWriter};
pub use error::{Error, ErrorKind};
pub use fetch::{fetch, FetchRequest, FetchResponse};
pub use headers::Headers;
pub use method::Method;
pub use request::Request;
pub use response::{IntoResponse, Response};

/// Exports `handler` as the component's `wasi:http/incoming-handler.handle`,
/// together with the `cabi_realloc` the host allocates guest memory with.
///
/// `handler` is any `FnOnce(Request) -> R` where `R: IntoResponse`: a
/// function name or a closure. Use the macro once, at the crate root of a
/// `cdylib`.
///
/// ```ignore
/// fn handle(req: micron::Request) -> micron::Response { /* … */ }
/// micron::export_handler!(handle);
/// ```
#[macro_export]
macro_rules! export_handler {
    ($handler:expr) => {
        #[doc(hidden)]
        #[export_name = "wasi:http/incoming-handler@0.2.12#handle"]
        pub extern "C" fn __micron_incoming_handler_handle(request: u32, response_out: u32) {
            $crate::__private::handle(request, response_out, $handler)
        }

        #[doc(hidden)]
        #[no_mangle]
        pub unsafe extern "C" fn cabi_realloc(
            old_ptr: *mut u8,
            old_len: usize,
            align: usize,
            new_len: usize,
        ) -> *mut u8 {
            $crate::__private::cabi_realloc(old_ptr, old_len, align, new_len)
        }
    };
}

/// Support for [`export_handler!`]; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::abi::cabi_realloc;
    use crate::{IntoResponse, Request};

    /// Runs `handler` for one `incoming-request` and sends what it returns
    /// through the `response-outparam`.
    pub fn handle<F, R>(request: u32, response_out: u32, handler: F)
    where
        F: FnOnce(Request) -> R,
        R: IntoResponse,
    {
        // A panic aborts the instance (`unreachable`); its message and place go to stderr
        // first, so the host logs them with the request id. (No allocation: the closure is
        // zero-sized. Every request sets it again: each gets a fresh instance.)
        std::panic::set_hook(Box::new(|info| {
            let payload = info.payload();
            let message = match payload.downcast_ref::<&str>() {
                Some(s) => s,
                None => payload.downcast_ref::<String>().map(String::as_str).unwrap_or("(no message)"),
            };
            let mut line = String::from("panicked: ");
            line.push_str(message);
            if let Some(at) = info.location() {
                line.push_str(" at ");
                line.push_str(at.file());
                line.push(':');
                line.push_str(&crate::response::decimal(at.line() as usize));
                line.push(':');
                line.push_str(&crate::response::decimal(at.column() as usize));
            }
            crate::log::write_str(crate::log::Stream::Stderr, "", &line);
        }));
        let request = Request::from_handle(request);
        handler(request).into_response().send(response_out);
    }
}
