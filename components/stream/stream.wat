;; stream: a slow, chunked response body (for streaming and deadline tests).
;;
;; Contract: 200, `content-type: text/plain`, body "chunk 0\n" … "chunk 4\n"
;; (5 chunks, 40 bytes). Each chunk is written, then flushed with
;; blocking-flush, then the guest sleeps 100 ms on a monotonic-clock pollable,
;; so the whole response takes about 500 ms and arrives in 5 pieces.
;;
;; Flow of `handle(request, response-out)`:
;;   fields = new fields(); fields.append("content-type", "text/plain")
;;   response = new outgoing-response(fields); body = response.body()
;;   out = body.write(); response-outparam.set(response-out, ok(response))
;;   for i in 0..5:
;;     write "chunk i\n": check-write -> (0: out.subscribe(), block, drop; retry)
;;                        -> write(min(permit, left)) until all written
;;     out.blocking-flush()
;;     p = monotonic-clock.subscribe-duration(100_000_000 ns); p.block(); drop p
;;   drop out; outgoing-body.finish(body, none)
;; A stream error (client gone) ends the loop early; the body is still finished.
;;
;; Memory: one page; 0..63 return area, 64.. constants; no allocation.
(module
  (import "wasi:http/types@0.2.12" "[constructor]fields"
    (func $fields_new (result i32)))
  (import "wasi:http/types@0.2.12" "[method]fields.append"
    (func $fields_append (param i32 i32 i32 i32 i32 i32)))
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
  ;; (self, ret) -> result<u64, stream-error> (tag @0, permit u64 @8, error tag @8, error @12)
  (import "wasi:io/streams@0.2.12" "[method]output-stream.check-write"
    (func $check_write (param i32 i32)))
  ;; (self, ptr, len, ret) -> result<_, stream-error> (tag @0, error tag @4, error @8)
  (import "wasi:io/streams@0.2.12" "[method]output-stream.write"
    (func $write (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.12" "[method]output-stream.blocking-flush"
    (func $blocking_flush (param i32 i32)))
  (import "wasi:io/streams@0.2.12" "[method]output-stream.subscribe"
    (func $output_subscribe (param i32) (result i32)))
  (import "wasi:io/streams@0.2.12" "[resource-drop]output-stream"
    (func $drop_output_stream (param i32)))
  (import "wasi:io/error@0.2.12" "[resource-drop]error"
    (func $drop_error (param i32)))
  (import "wasi:io/poll@0.2.12" "[method]pollable.block"
    (func $block (param i32)))
  (import "wasi:io/poll@0.2.12" "[resource-drop]pollable"
    (func $drop_pollable (param i32)))
  (import "wasi:clocks/monotonic-clock@0.2.12" "subscribe-duration"
    (func $subscribe_duration (param i64) (result i32)))

  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))

  (data (i32.const 64) "content-type")  ;; 12
  (data (i32.const 80) "text/plain")    ;; 10
  (data (i32.const 96) "chunk 0\n")     ;; 8; the digit at 102 is rewritten per chunk

  (func (export "wasi:http/incoming-handler@0.2.12#handle") (param $request i32) (param $out i32)
    (local $fields i32) (local $response i32) (local $body i32) (local $stream i32)
    (local $i i32) (local $p i32)
    (local.set $fields (call $fields_new))
    (call $fields_append (local.get $fields) (i32.const 64) (i32.const 12) (i32.const 80) (i32.const 10) (i32.const 0))
    (local.set $response (call $response_new (local.get $fields)))
    (call $response_body (local.get $response) (i32.const 0))
    (local.set $body (i32.load (i32.const 4)))
    (call $body_write (local.get $body) (i32.const 0))
    (local.set $stream (i32.load (i32.const 4)))
    (call $outparam_set (local.get $out) (i32.const 0) (local.get $response)
      (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
    (block $stop
      (loop $chunk
        (br_if $stop (i32.ge_u (local.get $i) (i32.const 5)))
        (i32.store8 (i32.const 102) (i32.add (i32.const 48) (local.get $i)))
        (br_if $stop (i32.eqz (call $write_all (local.get $stream) (i32.const 96) (i32.const 8))))
        (call $blocking_flush (local.get $stream) (i32.const 0))
        (br_if $stop (call $failed (i32.const 0)))
        (local.set $p (call $subscribe_duration (i64.const 100000000)))
        (call $block (local.get $p))
        (call $drop_pollable (local.get $p))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $chunk)))
    (call $drop_output_stream (local.get $stream))
    (call $body_finish (local.get $body) (i32.const 0) (i32.const 0) (i32.const 0)))

  ;; The check-write / write protocol: wait for a permit, write at most that much.
  ;; 1 when everything was written, 0 if the stream failed or closed.
  (func $write_all (param $stream i32) (param $ptr i32) (param $len i32) (result i32)
    (local $permit i32) (local $n i32) (local $p i32)
    (block $done
      (loop $more
        (br_if $done (i32.eqz (local.get $len)))
        (call $check_write (local.get $stream) (i32.const 16))
        (if (i32.load8_u (i32.const 16))
          (then
            (if (i32.eqz (i32.load8_u (i32.const 24)))
              (then (call $drop_error (i32.load (i32.const 28)))))
            (return (i32.const 0))))
        ;; a permit above 4 GiB is as good as 4 GiB
        (local.set $permit (select (i32.const -1) (i32.wrap_i64 (i64.load (i32.const 24)))
          (i64.gt_u (i64.load (i32.const 24)) (i64.const 0xffffffff))))
        (if (i32.eqz (local.get $permit))
          (then
            (local.set $p (call $output_subscribe (local.get $stream)))
            (call $block (local.get $p))
            (call $drop_pollable (local.get $p))
            (br $more)))
        (local.set $n (select (local.get $permit) (local.get $len) (i32.lt_u (local.get $permit) (local.get $len))))
        (call $write (local.get $stream) (local.get $ptr) (local.get $n) (i32.const 16))
        (if (call $failed (i32.const 16)) (then (return (i32.const 0))))
        (local.set $ptr (i32.add (local.get $ptr) (local.get $n)))
        (local.set $len (i32.sub (local.get $len) (local.get $n)))
        (br $more)))
    (i32.const 1))

  ;; Reads a result<_, stream-error> at $ret: 1 (and drops any error resource) if it is err.
  (func $failed (param $ret i32) (result i32)
    (if (i32.eqz (i32.load8_u (local.get $ret))) (then (return (i32.const 0))))
    (if (i32.eqz (i32.load8_u offset=4 (local.get $ret)))
      (then (call $drop_error (i32.load offset=8 (local.get $ret)))))
    (i32.const 1))

  ;; Bump allocator for the canonical ABI (unused by this guest's calls, exported for completeness).
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
