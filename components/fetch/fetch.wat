;; fetch: makes one outbound HTTP request and relays the answer.
;;
;; Contract:
;;   request header `x-fetch-authority` (e.g. `127.0.0.1:1234`, required) and
;;   `x-fetch-path` (e.g. `/x?y=1`, default `/`); the guest sends
;;   GET http://<authority><path> with no headers and an empty body.
;;   - upstream answered: status = upstream status, header `x-fetched: 1`
;;     (no other header), body = upstream body streamed through.
;;   - outgoing-handler.handle returned err(e), or the future resolved to
;;     err(e): 502, `content-type: text/plain`, body `error <n>\n` where <n> is
;;     e's discriminant in decimal (WIT order: DNS-timeout = 0,
;;     connection-refused = 6, HTTP-request-denied = 15, internal-error = 38…).
;;   - the future resolved to nothing after block (should not happen): 502,
;;     body `error pending\n`.
;;   - no `x-fetch-authority` header: 400, `content-type: text/plain`,
;;     body `missing x-fetch-authority\n`.
;;
;; Flow of `handle(request, response-out)`:
;;   headers = request.headers(); read the two headers; drop headers
;;   req = new outgoing-request(new fields()); set-method(get);
;;   set-scheme(some(HTTP)); set-authority(some(a)); set-path-with-query(some(p))
;;   ob = req.body(); r = outgoing-handler.handle(req, none); outgoing-body.finish(ob, none)
;;   err(e) -> 502 "error <e>"
;;   ok(future): p = future.subscribe(); p.block(); drop p; future.get()
;;     some(ok(ok(resp))) -> status = resp.status(); in = resp.consume().stream()
;;        fields("x-fetched: 1") -> outgoing-response, set-status-code(status),
;;        body, write, response-outparam.set; loop in.blocking-read(65536) ->
;;        blocking-write-and-flush in pieces <= 4096 until closed; drop all; finish
;;     some(ok(err(e))) -> 502 "error <e>"
;;
;; Memory: 0..63 return area (future.get needs 56 bytes: option tag @0,
;; result tag @8, inner result tag @16, payload @24), 64..95 writer return
;; area, 128..271 constants, 288.. scratch text, heap from 1024; the heap is
;; reset after every relayed chunk (two pages at most).
(module
  (import "wasi:http/types@0.2.12" "[constructor]fields"
    (func $fields_new (result i32)))
  (import "wasi:http/types@0.2.12" "[method]fields.get"
    (func $fields_get (param i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]fields.append"
    (func $fields_append (param i32 i32 i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]fields"
    (func $drop_fields (param i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-request.headers"
    (func $request_headers (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[constructor]outgoing-request"
    (func $outgoing_request_new (param i32) (result i32)))
  ;; (self, method tag, other ptr, other len) -> result tag
  (import "wasi:http/types@0.2.12" "[method]outgoing-request.set-method"
    (func $set_method (param i32 i32 i32 i32) (result i32)))
  ;; (self, option tag, scheme tag, other ptr, other len) -> result tag
  (import "wasi:http/types@0.2.12" "[method]outgoing-request.set-scheme"
    (func $set_scheme (param i32 i32 i32 i32 i32) (result i32)))
  ;; (self, option tag, ptr, len) -> result tag
  (import "wasi:http/types@0.2.12" "[method]outgoing-request.set-authority"
    (func $set_authority (param i32 i32 i32 i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-request.set-path-with-query"
    (func $set_path (param i32 i32 i32 i32) (result i32)))
  ;; (self, ret) -> result<outgoing-body> (tag @0, handle @4)
  (import "wasi:http/types@0.2.12" "[method]outgoing-request.body"
    (func $outgoing_request_body (param i32 i32)))
  ;; (request, options tag, options, ret) -> result<future-incoming-response, error-code>
  ;;   tag @0; ok handle @8; err error-code tag @8
  (import "wasi:http/outgoing-handler@0.2.12" "handle"
    (func $outgoing_handle (param i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]future-incoming-response.subscribe"
    (func $future_subscribe (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]future-incoming-response.get"
    (func $future_get (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]future-incoming-response"
    (func $drop_future (param i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-response.status"
    (func $incoming_status (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-response.consume"
    (func $incoming_consume (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]incoming-response"
    (func $drop_incoming_response (param i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-body.stream"
    (func $incoming_body_stream (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]incoming-body"
    (func $drop_incoming_body (param i32)))
  (import "wasi:http/types@0.2.12" "[constructor]outgoing-response"
    (func $response_new (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-response.set-status-code"
    (func $set_status (param i32 i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-response.body"
    (func $response_body (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-body.write"
    (func $body_write (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[static]outgoing-body.finish"
    (func $body_finish (param i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[static]response-outparam.set"
    (func $outparam_set (param i32 i32 i32 i32 i64 i32 i32 i32 i32)))
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
  (import "wasi:io/poll@0.2.12" "[method]pollable.block"
    (func $block (param i32)))
  (import "wasi:io/poll@0.2.12" "[resource-drop]pollable"
    (func $drop_pollable (param i32)))

  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))

  (data (i32.const 128) "x-fetch-authority")            ;; 17
  (data (i32.const 148) "x-fetch-path")                 ;; 12
  (data (i32.const 160) "/")                            ;; 1
  (data (i32.const 164) "x-fetched")                    ;; 9
  (data (i32.const 176) "1")                            ;; 1
  (data (i32.const 180) "content-type")                 ;; 12
  (data (i32.const 192) "text/plain")                   ;; 10
  (data (i32.const 208) "error ")                       ;; 6
  (data (i32.const 216) "missing x-fetch-authority\n")  ;; 26
  (data (i32.const 256) "error pending\n")              ;; 14

  (func (export "wasi:http/incoming-handler@0.2.12#handle") (param $request i32) (param $out i32)
    (local $headers i32) (local $aptr i32) (local $alen i32) (local $pptr i32) (local $plen i32)
    (local $oreq i32) (local $obody i32) (local $future i32) (local $p i32)
    (local $upstream i32) (local $status i32) (local $ibody i32) (local $istream i32)
    (local $fields i32) (local $response i32) (local $body i32) (local $ostream i32) (local $heap_base i32)
    ;; A reused instance starts each call with an empty heap.
    (global.set $heap (i32.const 1024))

    ;; Where to go.
    (local.set $headers (call $request_headers (local.get $request)))
    (call $fields_get (local.get $headers) (i32.const 128) (i32.const 17) (i32.const 0))
    (if (i32.eqz (i32.load (i32.const 4)))
      (then
        (call $drop_fields (local.get $headers))
        (call $respond_text (local.get $out) (i32.const 400) (i32.const 216) (i32.const 26))
        (return)))
    (local.set $aptr (i32.load (i32.load (i32.const 0))))
    (local.set $alen (i32.load offset=4 (i32.load (i32.const 0))))
    (call $fields_get (local.get $headers) (i32.const 148) (i32.const 12) (i32.const 0))
    (if (i32.eqz (i32.load (i32.const 4)))
      (then (local.set $pptr (i32.const 160)) (local.set $plen (i32.const 1)))
      (else
        (local.set $pptr (i32.load (i32.load (i32.const 0))))
        (local.set $plen (i32.load offset=4 (i32.load (i32.const 0))))))
    (call $drop_fields (local.get $headers))

    ;; Build and send GET http://authority/path.
    (local.set $oreq (call $outgoing_request_new (call $fields_new)))
    (drop (call $set_method (local.get $oreq) (i32.const 0) (i32.const 0) (i32.const 0)))
    (drop (call $set_scheme (local.get $oreq) (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0)))
    (drop (call $set_authority (local.get $oreq) (i32.const 1) (local.get $aptr) (local.get $alen)))
    (drop (call $set_path (local.get $oreq) (i32.const 1) (local.get $pptr) (local.get $plen)))
    (call $outgoing_request_body (local.get $oreq) (i32.const 0))
    (local.set $obody (i32.load (i32.const 4)))
    (call $outgoing_handle (local.get $oreq) (i32.const 0) (i32.const 0) (i32.const 0))
    (if (i32.load8_u (i32.const 0))
      (then
        (call $respond_error (local.get $out) (i32.load8_u (i32.const 8)))
        (call $drop_outgoing_body_quietly (local.get $obody))
        (return)))
    (local.set $future (i32.load (i32.const 8)))
    ;; The request has no body: finish it so the host can complete the request.
    (call $drop_outgoing_body_quietly (local.get $obody))

    ;; Wait for the response head.
    (local.set $p (call $future_subscribe (local.get $future)))
    (call $block (local.get $p))
    (call $drop_pollable (local.get $p))
    (call $future_get (local.get $future) (i32.const 0))
    (if (i32.or (i32.eqz (i32.load8_u (i32.const 0))) (i32.load8_u (i32.const 8)))
      (then
        (call $drop_future (local.get $future))
        (call $respond_text (local.get $out) (i32.const 502) (i32.const 256) (i32.const 14))
        (return)))
    (if (i32.load8_u (i32.const 16))
      (then
        (call $drop_future (local.get $future))
        (call $respond_error (local.get $out) (i32.load8_u (i32.const 24)))
        (return)))
    (local.set $upstream (i32.load (i32.const 24)))
    (call $drop_future (local.get $future))
    (local.set $status (call $incoming_status (local.get $upstream)))

    ;; Relay head, then body.
    (local.set $fields (call $fields_new))
    (call $fields_append (local.get $fields) (i32.const 164) (i32.const 9) (i32.const 176) (i32.const 1) (i32.const 0))
    (local.set $response (call $response_new (local.get $fields)))
    (drop (call $set_status (local.get $response) (local.get $status)))
    (call $response_body (local.get $response) (i32.const 0))
    (local.set $body (i32.load (i32.const 4)))
    (call $body_write (local.get $body) (i32.const 0))
    (local.set $ostream (i32.load (i32.const 4)))
    (call $outparam_set (local.get $out) (i32.const 0) (local.get $response)
      (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))

    (call $incoming_consume (local.get $upstream) (i32.const 0))
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
                    (if (i32.eqz (i32.load8_u (i32.const 4)))
                      (then (call $drop_error (i32.load (i32.const 8)))))
                    (br $eof)))
                (br_if $eof (i32.eqz
                  (call $write_all (local.get $ostream) (i32.load (i32.const 4)) (i32.load (i32.const 8)))))
                (br $read)))
            (call $drop_input_stream (local.get $istream))))
        (call $drop_incoming_body (local.get $ibody))))
    (call $drop_incoming_response (local.get $upstream))
    (call $drop_output_stream (local.get $ostream))
    (call $body_finish (local.get $body) (i32.const 0) (i32.const 0) (i32.const 0)))

  ;; Finishes an outgoing (request) body, ignoring the result.
  (func $drop_outgoing_body_quietly (param $body i32)
    (call $body_finish (local.get $body) (i32.const 0) (i32.const 0) (i32.const 64)))

  ;; 502 with "error <code>\n".
  (func $respond_error (param $out i32) (param $code i32)
    (local $end i32)
    (memory.copy (i32.const 288) (i32.const 208) (i32.const 6))
    (local.set $end (call $format_u32 (i32.const 294) (local.get $code)))
    (i32.store8 (local.get $end) (i32.const 10))
    (call $respond_text (local.get $out) (i32.const 502) (i32.const 288)
      (i32.sub (i32.add (local.get $end) (i32.const 1)) (i32.const 288))))

  ;; Writes $n in decimal at $at; returns the address just past the digits.
  (func $format_u32 (param $at i32) (param $n i32) (result i32)
    (local $digits i32) (local $t i32) (local $end i32)
    (local.set $t (local.get $n))
    (loop $count
      (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
      (local.set $t (i32.div_u (local.get $t) (i32.const 10)))
      (br_if $count (local.get $t)))
    (local.set $end (i32.add (local.get $at) (local.get $digits)))
    (local.set $t (local.get $end))
    (loop $digit
      (local.set $t (i32.sub (local.get $t) (i32.const 1)))
      (i32.store8 (local.get $t) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (i32.gt_u (local.get $t) (local.get $at))))
    (local.get $end))

  ;; A complete text/plain response with the given status and body.
  (func $respond_text (param $out i32) (param $status i32) (param $ptr i32) (param $len i32)
    (local $fields i32) (local $response i32) (local $body i32) (local $stream i32)
    (local.set $fields (call $fields_new))
    (call $fields_append (local.get $fields) (i32.const 180) (i32.const 12) (i32.const 192) (i32.const 10) (i32.const 64))
    (local.set $response (call $response_new (local.get $fields)))
    (drop (call $set_status (local.get $response) (local.get $status)))
    (call $response_body (local.get $response) (i32.const 64))
    (local.set $body (i32.load (i32.const 68)))
    (call $body_write (local.get $body) (i32.const 64))
    (local.set $stream (i32.load (i32.const 68)))
    (call $outparam_set (local.get $out) (i32.const 0) (local.get $response)
      (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
    (drop (call $write_all (local.get $stream) (local.get $ptr) (local.get $len)))
    (call $drop_output_stream (local.get $stream))
    (call $body_finish (local.get $body) (i32.const 0) (i32.const 0) (i32.const 64)))

  ;; Writes [ptr, ptr+len) in pieces of at most 4096 bytes; 1 on success, 0 if the stream failed.
  (func $write_all (param $stream i32) (param $ptr i32) (param $len i32) (result i32)
    (local $n i32)
    (block $done
      (loop $more
        (br_if $done (i32.eqz (local.get $len)))
        (local.set $n (select (i32.const 4096) (local.get $len) (i32.gt_u (local.get $len) (i32.const 4096))))
        (call $write_and_flush (local.get $stream) (local.get $ptr) (local.get $n) (i32.const 64))
        (if (i32.load8_u (i32.const 64))
          (then
            (if (i32.eqz (i32.load8_u (i32.const 68)))
              (then (call $drop_error (i32.load (i32.const 72)))))
            (return (i32.const 0))))
        (local.set $ptr (i32.add (local.get $ptr) (local.get $n)))
        (local.set $len (i32.sub (local.get $len) (local.get $n)))
        (br $more)))
    (i32.const 1))

  ;; Bump allocator for the canonical ABI; the relay loop resets $heap between chunks.
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
