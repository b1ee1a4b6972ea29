//! Time from `wasi:clocks/monotonic-clock` (`std::time::Instant` panics on
//! `wasm32-unknown-unknown`).

use std::time::Duration;

use crate::wasi::clocks::monotonic_clock;
use crate::wasi::io::poll;

/// A point on the host's monotonic clock, like `std::time::Instant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// Now.
    pub fn now() -> Instant {
        Instant(unsafe { monotonic_clock::now() })
    }

    /// Time since `self`.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// Time from `earlier` to `self` (zero if `earlier` is later).
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

/// Blocks the function for `duration` (the host's deadline still applies).
pub fn sleep(duration: Duration) {
    let nanos = duration.as_nanos().min(u64::MAX as u128) as u64;
    unsafe {
        let ready = monotonic_clock::subscribe_duration(nanos);
        poll::block(ready);
        poll::drop_pollable(ready);
    }
}
