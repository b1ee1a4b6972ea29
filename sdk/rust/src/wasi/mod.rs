//! Raw canonical-ABI imports, one module per WASI package and one inner
//! module per interface, named exactly as in the WIT (`wit/deps/*@0.2.12`).
//!
//! These are hand-written because no bindings generator is available offline.
//! Conventions of the canonical ABI (32-bit, flat lowering):
//! - a resource handle is a `u32`; an owned handle must be dropped exactly once
//!   with its `[resource-drop]` import (or passed to a function that takes it);
//! - `string`/`list<T>` arguments are lowered as `(ptr, len)` into guest memory;
//! - a result that does not fit one core value is written through a trailing
//!   `ret` pointer to a guest buffer; the layouts are documented per function;
//! - lists and strings the host returns were allocated with `cabi_realloc` and
//!   belong to the guest (see `crate::abi`).
//!
//! Only scalars cross these `extern "C"` boundaries, so the old and the new
//! wasm32 C ABIs of rustc agree on every signature.

pub mod cli;
pub mod clocks;
pub mod http;
pub mod io;
