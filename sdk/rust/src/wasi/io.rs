//! `wasi:io@0.2.12`: error, poll, streams.

/// `wasi:io/error`.
pub mod error {
    #[link(wasm_import_module = "wasi:io/error@0.2.12")]
    extern "C" {
        /// `ret`: `string` = ptr @0, len @4.
        #[link_name = "[method]error.to-debug-string"]
        pub fn to_debug_string(this: u32, ret: *mut u8);
        #[link_name = "[resource-drop]error"]
        pub fn drop_error(this: u32);
    }
}

/// `wasi:io/poll`.
pub mod poll {
    #[link(wasm_import_module = "wasi:io/poll@0.2.12")]
    extern "C" {
        #[link_name = "[method]pollable.block"]
        pub fn block(this: u32);
        #[link_name = "[resource-drop]pollable"]
        pub fn drop_pollable(this: u32);
    }
}

/// `wasi:io/streams`.
///
/// Results are `result<T, stream-error>`: tag u8 @0 (0 ok, 1 err); on err the
/// `stream-error` is at the payload offset: tag u8 (0 `last-operation-failed`
/// with an owned `error` handle 4 bytes later, 1 `closed`).
pub mod streams {
    #[link(wasm_import_module = "wasi:io/streams@0.2.12")]
    extern "C" {
        /// `ret`: `result<list<u8>, stream-error>`: ok ptr @4, len @8; err @4.
        #[link_name = "[method]input-stream.blocking-read"]
        pub fn blocking_read(this: u32, len: u64, ret: *mut u8);
        #[link_name = "[resource-drop]input-stream"]
        pub fn drop_input_stream(this: u32);

        /// `ret`: `result<_, stream-error>`: err @4. At most 4096 bytes a call.
        #[link_name = "[method]output-stream.blocking-write-and-flush"]
        pub fn blocking_write_and_flush(this: u32, ptr: *const u8, len: usize, ret: *mut u8);
        /// `ret`: `result<_, stream-error>`: err @4.
        #[link_name = "[method]output-stream.blocking-flush"]
        pub fn blocking_flush(this: u32, ret: *mut u8);
        #[link_name = "[resource-drop]output-stream"]
        pub fn drop_output_stream(this: u32);
    }
}
