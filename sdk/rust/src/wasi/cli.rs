//! `wasi:cli@0.2.12`: environment, stdout, stderr.

/// `wasi:cli/environment`.
pub mod environment {
    #[link(wasm_import_module = "wasi:cli/environment@0.2.12")]
    extern "C" {
        /// `ret`: `list<tuple<string, string>>` = ptr @0, len @4; 16-byte
        /// elements (key ptr, key len, value ptr, value len).
        #[link_name = "get-environment"]
        pub fn get_environment(ret: *mut u8);
    }
}

/// `wasi:cli/stdout`.
pub mod stdout {
    #[link(wasm_import_module = "wasi:cli/stdout@0.2.12")]
    extern "C" {
        /// Returns an owned `output-stream`.
        #[link_name = "get-stdout"]
        pub fn get_stdout() -> u32;
    }
}

/// `wasi:cli/stderr`.
pub mod stderr {
    #[link(wasm_import_module = "wasi:cli/stderr@0.2.12")]
    extern "C" {
        /// Returns an owned `output-stream`.
        #[link_name = "get-stderr"]
        pub fn get_stderr() -> u32;
    }
}
