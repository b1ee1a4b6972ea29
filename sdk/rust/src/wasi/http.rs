//! `wasi:http@0.2.12`: types and outgoing-handler.
//!
//! Common return layouts (offsets in bytes from `ret`):
//! - `method`: tag u8 @0; `other(string)` ptr @4, len @8.
//! - `option<string>`: tag u8 @0; ptr @4, len @8.
//! - `result<own-handle>`: tag u8 @0 (0 ok); handle @4.
//! - `error-code`: 8-byte aligned variant, tag u8 @0, payload @8 (32 bytes in
//!   all); `internal-error(option<string>)` is tag 38 with the option @8.

/// `wasi:http/types`.
pub mod types {
    #[link(wasm_import_module = "wasi:http/types@0.2.12")]
    extern "C" {
        #[link_name = "[constructor]fields"]
        pub fn fields_new() -> u32;
        /// `ret`: `result<_, header-error>`: tag u8 @0.
        #[link_name = "[method]fields.append"]
        pub fn fields_append(
            this: u32,
            name_ptr: *const u8,
            name_len: usize,
            value_ptr: *const u8,
            value_len: usize,
            ret: *mut u8,
        );
        /// `ret`: `list<tuple<string, list<u8>>>` = ptr @0, len @4; 16-byte
        /// elements (name ptr, name len, value ptr, value len).
        #[link_name = "[method]fields.entries"]
        pub fn fields_entries(this: u32, ret: *mut u8);
        #[link_name = "[resource-drop]fields"]
        pub fn drop_fields(this: u32);

        /// `ret`: `method`.
        #[link_name = "[method]incoming-request.method"]
        pub fn incoming_request_method(this: u32, ret: *mut u8);
        /// `ret`: `option<string>`.
        #[link_name = "[method]incoming-request.path-with-query"]
        pub fn incoming_request_path_with_query(this: u32, ret: *mut u8);
        /// `ret`: `option<string>`.
        #[link_name = "[method]incoming-request.authority"]
        pub fn incoming_request_authority(this: u32, ret: *mut u8);
        /// Returns a child `fields` handle (drop it before the request).
        #[link_name = "[method]incoming-request.headers"]
        pub fn incoming_request_headers(this: u32) -> u32;
        /// `ret`: `result<incoming-body>`.
        #[link_name = "[method]incoming-request.consume"]
        pub fn incoming_request_consume(this: u32, ret: *mut u8);
        #[link_name = "[resource-drop]incoming-request"]
        pub fn drop_incoming_request(this: u32);

        /// Takes ownership of `headers`.
        #[link_name = "[constructor]outgoing-request"]
        pub fn outgoing_request_new(headers: u32) -> u32;
        /// `ret`: `result<outgoing-body>`.
        #[link_name = "[method]outgoing-request.body"]
        pub fn outgoing_request_body(this: u32, ret: *mut u8);
        /// `method` lowered as (tag, ptr, len); returns `result` tag.
        #[link_name = "[method]outgoing-request.set-method"]
        pub fn outgoing_request_set_method(this: u32, tag: i32, ptr: *const u8, len: usize) -> i32;
        /// `option<string>` lowered as (some, ptr, len); returns `result` tag.
        #[link_name = "[method]outgoing-request.set-path-with-query"]
        pub fn outgoing_request_set_path_with_query(
            this: u32,
            some: i32,
            ptr: *const u8,
            len: usize,
        ) -> i32;
        /// `option<scheme>` lowered as (some, tag, ptr, len); returns `result` tag.
        #[link_name = "[method]outgoing-request.set-scheme"]
        pub fn outgoing_request_set_scheme(
            this: u32,
            some: i32,
            tag: i32,
            ptr: *const u8,
            len: usize,
        ) -> i32;
        /// `option<string>` lowered as (some, ptr, len); returns `result` tag.
        #[link_name = "[method]outgoing-request.set-authority"]
        pub fn outgoing_request_set_authority(
            this: u32,
            some: i32,
            ptr: *const u8,
            len: usize,
        ) -> i32;
        #[link_name = "[resource-drop]outgoing-request"]
        pub fn drop_outgoing_request(this: u32);

        #[link_name = "[constructor]request-options"]
        pub fn request_options_new() -> u32;
        /// `option<duration>` lowered as (some, nanos); returns `result` tag.
        #[link_name = "[method]request-options.set-connect-timeout"]
        pub fn request_options_set_connect_timeout(this: u32, some: i32, nanos: u64) -> i32;
        /// `option<duration>` lowered as (some, nanos); returns `result` tag.
        #[link_name = "[method]request-options.set-first-byte-timeout"]
        pub fn request_options_set_first_byte_timeout(this: u32, some: i32, nanos: u64) -> i32;
        /// `option<duration>` lowered as (some, nanos); returns `result` tag.
        #[link_name = "[method]request-options.set-between-bytes-timeout"]
        pub fn request_options_set_between_bytes_timeout(this: u32, some: i32, nanos: u64) -> i32;
        #[link_name = "[resource-drop]request-options"]
        pub fn drop_request_options(this: u32);

        /// `result<outgoing-response, error-code>` flattened: (tag, handle or
        /// error tag, then the six `error-code` payload slots, the second an i64).
        #[link_name = "[static]response-outparam.set"]
        pub fn response_outparam_set(
            param: u32,
            tag: i32,
            a: i32,
            b: i32,
            c: i64,
            d: i32,
            e: i32,
            f: i32,
            g: i32,
        );

        #[link_name = "[method]incoming-response.status"]
        pub fn incoming_response_status(this: u32) -> i32;
        /// Returns a child `fields` handle (drop it before the response).
        #[link_name = "[method]incoming-response.headers"]
        pub fn incoming_response_headers(this: u32) -> u32;
        /// `ret`: `result<incoming-body>`.
        #[link_name = "[method]incoming-response.consume"]
        pub fn incoming_response_consume(this: u32, ret: *mut u8);
        #[link_name = "[resource-drop]incoming-response"]
        pub fn drop_incoming_response(this: u32);

        /// `ret`: `result<input-stream>`; the stream is a child of the body.
        #[link_name = "[method]incoming-body.stream"]
        pub fn incoming_body_stream(this: u32, ret: *mut u8);
        #[link_name = "[resource-drop]incoming-body"]
        pub fn drop_incoming_body(this: u32);

        /// Takes ownership of `headers`.
        #[link_name = "[constructor]outgoing-response"]
        pub fn outgoing_response_new(headers: u32) -> u32;
        /// Returns `result` tag.
        #[link_name = "[method]outgoing-response.set-status-code"]
        pub fn outgoing_response_set_status_code(this: u32, status: i32) -> i32;
        /// `ret`: `result<outgoing-body>`.
        #[link_name = "[method]outgoing-response.body"]
        pub fn outgoing_response_body(this: u32, ret: *mut u8);
        #[link_name = "[resource-drop]outgoing-response"]
        pub fn drop_outgoing_response(this: u32);

        /// `ret`: `result<output-stream>`; the stream is a child of the body.
        #[link_name = "[method]outgoing-body.write"]
        pub fn outgoing_body_write(this: u32, ret: *mut u8);
        /// Consumes the body; `ret`: `result<_, error-code>`, tag u8 @0,
        /// `error-code` @8.
        #[link_name = "[static]outgoing-body.finish"]
        pub fn outgoing_body_finish(this: u32, has_trailers: i32, trailers: u32, ret: *mut u8);
        #[link_name = "[resource-drop]outgoing-body"]
        pub fn drop_outgoing_body(this: u32);

        #[link_name = "[method]future-incoming-response.subscribe"]
        pub fn future_incoming_response_subscribe(this: u32) -> u32;
        /// `ret` (56 bytes, 8-aligned):
        /// `option<result<result<incoming-response, error-code>>>`: some u8 @0,
        /// outer result tag @8, inner result tag @16, handle or `error-code` @24.
        #[link_name = "[method]future-incoming-response.get"]
        pub fn future_incoming_response_get(this: u32, ret: *mut u8);
        #[link_name = "[resource-drop]future-incoming-response"]
        pub fn drop_future_incoming_response(this: u32);
    }
}

/// `wasi:http/outgoing-handler`.
pub mod outgoing_handler {
    #[link(wasm_import_module = "wasi:http/outgoing-handler@0.2.12")]
    extern "C" {
        /// Consumes `request` (and `options` if given); `ret` (40 bytes,
        /// 8-aligned): `result<future-incoming-response, error-code>`, tag u8
        /// @0, handle or `error-code` @8.
        #[link_name = "handle"]
        pub fn handle(request: u32, has_options: i32, options: u32, ret: *mut u8);
    }
}
