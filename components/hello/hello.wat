;; hello: the smallest useful wasi:http@0.2.12 handler (used for benchmarks).
;;
;; Contract: any request -> 200, `content-type: text/plain`,
;;           body exactly "Hello from Micron!\n".
;;
;; Flow of `wasi:http/incoming-handler@0.2.12#handle(request, response-out)`:
;;   fields = new fields(); fields.append("content-type", "text/plain")
;;   response = new outgoing-response(fields)        (status defaults to 200)
;;   body = response.body(); stream = body.write()
;;   stream.blocking-write-and-flush("Hello from Micron!\n"); drop stream
;;   outgoing-body.finish(body, none)
;;   response-outparam.set(response-out, ok(response))
;; The request handle is never touched (the host drops it with the instance).
;;
;; Memory: one page. 0..63 is a return area for calls that return through a
;; pointer; constant strings live at 64..; `cabi_realloc` bumps from 1024.
(module
  (import "wasi:http/types@0.2.12" "[constructor]fields"
    (func $fields_new (result i32)))
  ;; (self, name-ptr, name-len, value-ptr, value-len, ret) -> result<_, header-error> at ret
  (import "wasi:http/types@0.2.12" "[method]fields.append"
    (func $fields_append (param i32 i32 i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[constructor]outgoing-response"
    (func $response_new (param i32) (result i32)))
  ;; (self, ret) -> result<outgoing-body> at ret (tag u8 @0, handle @4)
  (import "wasi:http/types@0.2.12" "[method]outgoing-response.body"
    (func $response_body (param i32 i32)))
  ;; (self, ret) -> result<output-stream> at ret (tag u8 @0, handle @4)
  (import "wasi:http/types@0.2.12" "[method]outgoing-body.write"
    (func $body_write (param i32 i32)))
  ;; (this, trailers-tag, trailers, ret) -> result<_, error-code> at ret
  (import "wasi:http/types@0.2.12" "[static]outgoing-body.finish"
    (func $body_finish (param i32 i32 i32 i32)))
  ;; (param, result-tag, then result<outgoing-response, error-code> flattened)
  (import "wasi:http/types@0.2.12" "[static]response-outparam.set"
    (func $outparam_set (param i32 i32 i32 i32 i64 i32 i32 i32 i32)))
  ;; (self, ptr, len, ret) -> result<_, stream-error> at ret
  (import "wasi:io/streams@0.2.12" "[method]output-stream.blocking-write-and-flush"
    (func $write_and_flush (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.12" "[resource-drop]output-stream"
    (func $drop_output_stream (param i32)))

  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))

  (data (i32.const 64) "content-type")          ;; 12 bytes
  (data (i32.const 80) "text/plain")            ;; 10 bytes
  (data (i32.const 96) "Hello from Micron!\n")  ;; 19 bytes

  (func (export "wasi:http/incoming-handler@0.2.12#handle") (param $request i32) (param $out i32)
    (local $fields i32) (local $response i32) (local $body i32) (local $stream i32)
    (local.set $fields (call $fields_new))
    (call $fields_append (local.get $fields) (i32.const 64) (i32.const 12) (i32.const 80) (i32.const 10) (i32.const 0))
    (local.set $response (call $response_new (local.get $fields)))
    (call $response_body (local.get $response) (i32.const 0))
    (local.set $body (i32.load (i32.const 4)))
    (call $body_write (local.get $body) (i32.const 0))
    (local.set $stream (i32.load (i32.const 4)))
    (call $write_and_flush (local.get $stream) (i32.const 96) (i32.const 19) (i32.const 0))
    (call $drop_output_stream (local.get $stream))
    (call $body_finish (local.get $body) (i32.const 0) (i32.const 0) (i32.const 0))
    (call $outparam_set (local.get $out) (i32.const 0) (local.get $response)
      (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))

  ;; Bump allocator for the canonical ABI; memory is never freed (one instance per request).
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32) (result i32)
    (local $ptr i32) (local $end i32) (local $have i32)
    (local.set $ptr (i32.and
      (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
      (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $ptr) (local.get $new_size)))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 0xffff)) (i32.const 16)))
                    (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (if (local.get $old)
      (then (memory.copy (local.get $ptr) (local.get $old)
        (select (local.get $old_size) (local.get $new_size) (i32.lt_u (local.get $old_size) (local.get $new_size))))))
    (local.get $ptr))
)
