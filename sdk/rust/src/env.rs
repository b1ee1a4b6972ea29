//! Environment variables from `wasi:cli/environment`: the values the
//! operator configured for this function (`std::env` sees none on
//! `wasm32-unknown-unknown`).

use crate::abi::{self, RetArea};
use crate::wasi::cli::environment;

/// Every variable, in the order the host gives them.
pub fn vars() -> Vec<(String, String)> {
    unsafe {
        let mut ret = RetArea::new();
        environment::get_environment(ret.ptr());
        // list<tuple<string, string>> has the layout of the header pairs.
        abi::take_pairs(&ret)
            .into_iter()
            .map(|(key, value)| (key, String::from_utf8_unchecked(value)))
            .collect()
    }
}

/// The value of variable `name`, if set.
pub fn var(name: &str) -> Option<String> {
    vars()
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}
