;; echo: streams the request body back as the response body.
;;
;; Contract: 200; copies every `content-type` value of the request (if any) to
;; the response; sets `x-echo-method: <METHOD>` (GET, HEAD, POST, PUT, DELETE,
;; CONNECT, OPTIONS, TRACE, PATCH, or the `other` string verbatim); the body is
;; the request body, byte for byte.
;;
;; Flow of `handle(request, response-out)`:
;;   headers = request.headers(); values = headers.get("content-type")
;;   fields = new fields(); fields.append("content-type", v) for each v
;;   fields.append("x-echo-method", name(request.method())); drop headers
;;   response = new outgoing-response(fields); body = response.body()
;;   out = body.write(); response-outparam.set(response-out, ok(response))
;;   in = request.consume().stream()
;;   loop: chunk = in.blocking-read(65536)      (err(closed) or err(failed) ends it)
;;         out.blocking-write-and-flush(piece) for each piece of <= 4096 bytes
;;         (the limit that method has), then reset the bump heap
;;   drop in, drop incoming-body, drop out, outgoing-body.finish(body, none)
;;
;; Memory: 0..63 return area, 64..255 constants, heap (cabi_realloc) from 1024.
;; A 64 KiB chunk makes the heap grow to a second page once; the heap is reset
;; after every chunk so memory stays at two pages however large the body is.
(module
  (import "wasi:http/types@0.2.12" "[constructor]fields"
    (func $fields_new (result i32)))
  ;; (self, name-ptr, name-len, ret) -> list<list<u8>> at ret (ptr @0, len @4)
  (import "wasi:http/types@0.2.12" "[method]fields.get"
    (func $fields_get (param i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]fields.append"
    (func $fields_append (param i32 i32 i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]fields"
    (func $drop_fields (param i32)))
  ;; (self, ret) -> method at ret (tag u8 @0, other's string ptr @4, len @8)
  (import "wasi:http/types@0.2.12" "[method]incoming-request.method"
    (func $request_method (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-request.headers"
    (func $request_headers (param i32) (result i32)))
  ;; (self, ret) -> result<incoming-body> at ret (tag @0, handle @4)
  (import "wasi:http/types@0.2.12" "[method]incoming-request.consume"
    (func $request_consume (param i32 i32)))
  ;; (self, ret) -> result<input-stream> at ret (tag @0, handle @4)
  (import "wasi:http/types@0.2.12" "[method]incoming-body.stream"
    (func $incoming_body_stream (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]incoming-body"
    (func $drop_incoming_body (param i32)))
  (import "wasi:http/types@0.2.12" "[constructor]outgoing-response"
    (func $response_new (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-response.body"
    (func $response_body (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-body.write"
    (func $body_write (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[static]outgoing-body.finish"
    (func $body_finish (param i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[static]response-outparam.set"
    (func $outparam_set (param i32 i32 i32 i32 i64 i32 i32 i32 i32)))
  ;; (self, len, ret) -> result<list<u8>, stream-error> at ret
  ;;   tag @0; ok: ptr @4, len @8; err: stream-error tag @4 (0 failed(error @8), 1 closed)
  (import "wasi:io/streams@0.2.12" "[method]input-stream.blocking-read"
    (func $blocking_read (param i32 i64 i32)))
  (import "wasi:io/streams@0.2.12" "[method]output-stream.blocking-write-and-flush"
    (func $write_and_flush (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.12" "[resource-drop]input-stream"
    (func $drop_input_stream (param i32)))
  (import "wasi:io/streams@0.2.12" "[resource-drop]output-stream"
    (func $drop_output_stream (param i32)))
  (import "wasi:io/error@0.2.12" "[resource-drop]error"
    (func $drop_error (param i32)))

  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))

  (data (i32.const 64) "content-type")   ;; 12
  (data (i32.const 80) "x-echo-method")  ;; 13
  ;; method names by variant tag: (ptr, len) pairs into the string at 176
  (data (i32.const 96)
    "\b0\00\00\00\03\00\00\00"  ;; GET
    "\b3\00\00\00\04\00\00\00"  ;; HEAD
    "\b7\00\00\00\04\00\00\00"  ;; POST
    "\bb\00\00\00\03\00\00\00"  ;; PUT
    "\be\00\00\00\06\00\00\00"  ;; DELETE
    "\c4\00\00\00\07\00\00\00"  ;; CONNECT
    "\cb\00\00\00\07\00\00\00"  ;; OPTIONS
    "\d2\00\00\00\05\00\00\00"  ;; TRACE
    "\d7\00\00\00\05\00\00\00") ;; PATCH
  (data (i32.const 176) "GETHEADPOSTPUTDELETECONNECTOPTIONSTRACEPATCH")

  (func (export "wasi:http/incoming-handler@0.2.12#handle") (param $request i32) (param $out i32)
    (local $headers i32) (local $fields i32) (local $response i32) (local $body i32)
    (local $ostream i32) (local $ibody i32) (local $istream i32)
    (local $list i32) (local $count i32) (local $i i32) (local $tag i32)
    (local $mptr i32) (local $mlen i32) (local $heap_base i32)
    ;; A reused instance starts each call with an empty heap.
    (global.set $heap (i32.const 1024))

    ;; Response headers: content-type copied, x-echo-method added.
    (local.set $headers (call $request_headers (local.get $request)))
    (local.set $fields (call $fields_new))
    (call $fields_get (local.get $headers) (i32.const 64) (i32.const 12) (i32.const 0))
    (local.set $list (i32.load (i32.const 0)))
    (local.set $count (i32.load (i32.const 4)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (call $fields_append (local.get $fields) (i32.const 64) (i32.const 12)
          (i32.load (i32.add (local.get $list) (i32.shl (local.get $i) (i32.const 3))))
          (i32.load offset=4 (i32.add (local.get $list) (i32.shl (local.get $i) (i32.const 3))))
          (i32.const 0))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $drop_fields (local.get $headers))

    (call $request_method (local.get $request) (i32.const 0))
    (local.set $tag (i32.load8_u (i32.const 0)))
    (if (i32.eq (local.get $tag) (i32.const 9))
      (then
        (local.set $mptr (i32.load (i32.const 4)))
        (local.set $mlen (i32.load (i32.const 8))))
      (else
        (local.set $mptr (i32.load (i32.add (i32.const 96) (i32.shl (local.get $tag) (i32.const 3)))))
        (local.set $mlen (i32.load offset=100 (i32.shl (local.get $tag) (i32.const 3))))))
    (call $fields_append (local.get $fields) (i32.const 80) (i32.const 13)
      (local.get $mptr) (local.get $mlen) (i32.const 0))

    ;; Send the head first so the body streams.
    (local.set $response (call $response_new (local.get $fields)))
    (call $response_body (local.get $response) (i32.const 0))
    (local.set $body (i32.load (i32.const 4)))
    (call $body_write (local.get $body) (i32.const 0))
    (local.set $ostream (i32.load (i32.const 4)))
    (call $outparam_set (local.get $out) (i32.const 0) (local.get $response)
      (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))

    ;; Copy the request body.
    (call $request_consume (local.get $request) (i32.const 0))
    (if (i32.eqz (i32.load8_u (i32.const 0)))
      (then
        (local.set $ibody (i32.load (i32.const 4)))
        (call $incoming_body_stream (local.get $ibody) (i32.const 0))
        (if (i32.eqz (i32.load8_u (i32.const 0)))
          (then
            (local.set $istream (i32.load (i32.const 4)))
            (local.set $heap_base (global.get $heap))
            (block $eof
              (loop $read
                (global.set $heap (local.get $heap_base))
                (call $blocking_read (local.get $istream) (i64.const 65536) (i32.const 0))
                (if (i32.load8_u (i32.const 0))
                  (then
                    ;; last-operation-failed carries an error resource to drop
                    (if (i32.eqz (i32.load8_u (i32.const 4)))
                      (then (call $drop_error (i32.load (i32.const 8)))))
                    (br $eof)))
                (br_if $eof (i32.eqz
                  (call $write_all (local.get $ostream) (i32.load (i32.const 4)) (i32.load (i32.const 8)))))
                (br $read)))
            (call $drop_input_stream (local.get $istream))))
        (call $drop_incoming_body (local.get $ibody))))

    (call $drop_output_stream (local.get $ostream))
    (call $body_finish (local.get $body) (i32.const 0) (i32.const 0) (i32.const 0)))

  ;; Writes [ptr, ptr+len) in pieces of at most 4096 bytes; 1 on success, 0 if the stream failed.
  (func $write_all (param $stream i32) (param $ptr i32) (param $len i32) (result i32)
    (local $n i32)
    (block $done
      (loop $more
        (br_if $done (i32.eqz (local.get $len)))
        (local.set $n (select (i32.const 4096) (local.get $len) (i32.gt_u (local.get $len) (i32.const 4096))))
        (call $write_and_flush (local.get $stream) (local.get $ptr) (local.get $n) (i32.const 16))
        (if (i32.load8_u (i32.const 16))
          (then
            (if (i32.eqz (i32.load8_u (i32.const 20)))
              (then (call $drop_error (i32.load (i32.const 24)))))
            (return (i32.const 0))))
        (local.set $ptr (i32.add (local.get $ptr) (local.get $n)))
        (local.set $len (i32.sub (local.get $len) (local.get $n)))
        (br $more)))
    (i32.const 1))

  ;; Bump allocator for the canonical ABI; the handler resets $heap between chunks.
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
