//! `wasi:clocks@0.2.12`: monotonic-clock.

/// `wasi:clocks/monotonic-clock`.
pub mod monotonic_clock {
    #[link(wasm_import_module = "wasi:clocks/monotonic-clock@0.2.12")]
    extern "C" {
        /// Nanoseconds since an arbitrary, fixed point.
        #[link_name = "now"]
        pub fn now() -> u64;
        /// Returns an owned `pollable` ready after `nanos`.
        #[link_name = "subscribe-duration"]
        pub fn subscribe_duration(nanos: u64) -> u32;
    }
}
