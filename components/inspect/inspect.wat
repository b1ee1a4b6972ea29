;; inspect: reports what the guest can see of the request and its environment.
;;
;; Contract: 200, `content-type: text/plain`, body (every line ends in "\n"):
;;   method: <GET|HEAD|POST|PUT|DELETE|CONNECT|OPTIONS|TRACE|PATCH|other string>
;;   path: <path-with-query, or nothing when none>
;;   scheme: <http|https|other string, or none>
;;   authority: <authority, or none>
;;   header: <name>: <value>      one per request header, in fields.entries order
;;   env: <KEY>=<VALUE>           one per wasi:cli/environment.get-environment entry
;; It also writes "inspect stdout\n" to wasi:cli/stdout and "inspect stderr\n"
;; to wasi:cli/stderr (get-stdout/get-stderr -> blocking-write-and-flush -> drop).
;;
;; Flow: query method, path-with-query, scheme, authority, headers().entries(),
;; get-environment() (the host allocates the strings through cabi_realloc);
;; then lay the text out contiguously at the top of the bump heap with $emit;
;; then build the response (fields, outgoing-response, body, write),
;; set the outparam, write the text in pieces of <= 4096 bytes, finish.
;;
;; Memory: 0..63 return areas, 64..331 constants, heap from 1024 (grows as needed).
(module
  (import "wasi:http/types@0.2.12" "[constructor]fields"
    (func $fields_new (result i32)))
  (import "wasi:http/types@0.2.12" "[method]fields.append"
    (func $fields_append (param i32 i32 i32 i32 i32 i32)))
  ;; (self, ret) -> list<tuple<string, list<u8>>> at ret; element = 16 bytes
  (import "wasi:http/types@0.2.12" "[method]fields.entries"
    (func $fields_entries (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[resource-drop]fields"
    (func $drop_fields (param i32)))
  ;; (self, ret) -> method (tag u8 @0, other string @4/@8)
  (import "wasi:http/types@0.2.12" "[method]incoming-request.method"
    (func $request_method (param i32 i32)))
  ;; (self, ret) -> option<string> (tag @0, ptr @4, len @8)
  (import "wasi:http/types@0.2.12" "[method]incoming-request.path-with-query"
    (func $request_path (param i32 i32)))
  ;; (self, ret) -> option<scheme> (tag @0, scheme tag @4, other string @8/@12)
  (import "wasi:http/types@0.2.12" "[method]incoming-request.scheme"
    (func $request_scheme (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-request.authority"
    (func $request_authority (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-request.headers"
    (func $request_headers (param i32) (result i32)))
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
  (import "wasi:io/streams@0.2.12" "[method]output-stream.blocking-write-and-flush"
    (func $write_and_flush (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.12" "[resource-drop]output-stream"
    (func $drop_output_stream (param i32)))
  (import "wasi:io/error@0.2.12" "[resource-drop]error"
    (func $drop_error (param i32)))
  ;; (ret) -> list<tuple<string, string>> at ret; element = 16 bytes
  (import "wasi:cli/environment@0.2.12" "get-environment"
    (func $get_environment (param i32)))
  (import "wasi:cli/stdout@0.2.12" "get-stdout"
    (func $get_stdout (result i32)))
  (import "wasi:cli/stderr@0.2.12" "get-stderr"
    (func $get_stderr (result i32)))

  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))

  (data (i32.const 64) "content-type")   ;; 12
  (data (i32.const 80) "text/plain")     ;; 10
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
  (data (i32.const 224) "method: ")         ;; 8
  (data (i32.const 232) "path: ")           ;; 6
  (data (i32.const 240) "scheme: ")         ;; 8
  (data (i32.const 248) "authority: ")      ;; 11
  (data (i32.const 260) "header: ")         ;; 8
  (data (i32.const 268) ": ")               ;; 2
  (data (i32.const 272) "env: ")            ;; 5
  (data (i32.const 278) "=")                ;; 1
  (data (i32.const 280) "\n")               ;; 1
  (data (i32.const 284) "none")             ;; 4
  (data (i32.const 288) "http")             ;; 4
  (data (i32.const 292) "https")            ;; 5
  (data (i32.const 300) "inspect stdout\n") ;; 15
  (data (i32.const 316) "inspect stderr\n") ;; 15

  (func (export "wasi:http/incoming-handler@0.2.12#handle") (param $request i32) (param $out i32)
    (local $mptr i32) (local $mlen i32)
    (local $has_path i32) (local $pptr i32) (local $plen i32)
    (local $stag i32) (local $sptr i32) (local $slen i32)
    (local $has_auth i32) (local $aptr i32) (local $alen i32)
    (local $headers i32) (local $hlist i32) (local $hcount i32)
    (local $elist i32) (local $ecount i32)
    (local $i i32) (local $e i32) (local $tag i32)
    (local $text i32) (local $fields i32) (local $response i32) (local $body i32) (local $stream i32)
    ;; A reused instance starts each call with an empty heap.
    (global.set $heap (i32.const 1024))

    ;; stdio first: the log lines do not depend on the request.
    (call $log (call $get_stdout) (i32.const 300))
    (call $log (call $get_stderr) (i32.const 316))

    ;; 1. Collect everything from the host.
    (call $request_method (local.get $request) (i32.const 0))
    (local.set $tag (i32.load8_u (i32.const 0)))
    (if (i32.eq (local.get $tag) (i32.const 9))
      (then
        (local.set $mptr (i32.load (i32.const 4)))
        (local.set $mlen (i32.load (i32.const 8))))
      (else
        (local.set $mptr (i32.load offset=96 (i32.shl (local.get $tag) (i32.const 3))))
        (local.set $mlen (i32.load offset=100 (i32.shl (local.get $tag) (i32.const 3))))))

    (call $request_path (local.get $request) (i32.const 0))
    (local.set $has_path (i32.load8_u (i32.const 0)))
    (local.set $pptr (i32.load (i32.const 4)))
    (local.set $plen (i32.load (i32.const 8)))

    (call $request_scheme (local.get $request) (i32.const 0))
    (if (i32.eqz (i32.load8_u (i32.const 0)))
      (then (local.set $sptr (i32.const 284)) (local.set $slen (i32.const 4)))
      (else
        (local.set $stag (i32.load8_u (i32.const 4)))
        (if (i32.eqz (local.get $stag))
          (then (local.set $sptr (i32.const 288)) (local.set $slen (i32.const 4)))
          (else (if (i32.eq (local.get $stag) (i32.const 1))
            (then (local.set $sptr (i32.const 292)) (local.set $slen (i32.const 5)))
            (else
              (local.set $sptr (i32.load (i32.const 8)))
              (local.set $slen (i32.load (i32.const 12)))))))))

    (call $request_authority (local.get $request) (i32.const 0))
    (local.set $has_auth (i32.load8_u (i32.const 0)))
    (local.set $aptr (i32.load (i32.const 4)))
    (local.set $alen (i32.load (i32.const 8)))
    (if (i32.eqz (local.get $has_auth))
      (then (local.set $aptr (i32.const 284)) (local.set $alen (i32.const 4))))

    (local.set $headers (call $request_headers (local.get $request)))
    (call $fields_entries (local.get $headers) (i32.const 0))
    (local.set $hlist (i32.load (i32.const 0)))
    (local.set $hcount (i32.load (i32.const 4)))
    (call $drop_fields (local.get $headers))

    (call $get_environment (i32.const 0))
    (local.set $elist (i32.load (i32.const 0)))
    (local.set $ecount (i32.load (i32.const 4)))

    ;; 2. Lay the text out contiguously from the current heap top.
    (local.set $text (global.get $heap))
    (call $emit (i32.const 224) (i32.const 8))
    (call $emit (local.get $mptr) (local.get $mlen))
    (call $emit (i32.const 280) (i32.const 1))
    (call $emit (i32.const 232) (i32.const 6))
    (if (local.get $has_path) (then (call $emit (local.get $pptr) (local.get $plen))))
    (call $emit (i32.const 280) (i32.const 1))
    (call $emit (i32.const 240) (i32.const 8))
    (call $emit (local.get $sptr) (local.get $slen))
    (call $emit (i32.const 280) (i32.const 1))
    (call $emit (i32.const 248) (i32.const 11))
    (call $emit (local.get $aptr) (local.get $alen))
    (call $emit (i32.const 280) (i32.const 1))
    (local.set $i (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $hcount)))
        (local.set $e (i32.add (local.get $hlist) (i32.shl (local.get $i) (i32.const 4))))
        (call $emit (i32.const 260) (i32.const 8))
        (call $emit (i32.load (local.get $e)) (i32.load offset=4 (local.get $e)))
        (call $emit (i32.const 268) (i32.const 2))
        (call $emit (i32.load offset=8 (local.get $e)) (i32.load offset=12 (local.get $e)))
        (call $emit (i32.const 280) (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.set $i (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $ecount)))
        (local.set $e (i32.add (local.get $elist) (i32.shl (local.get $i) (i32.const 4))))
        (call $emit (i32.const 272) (i32.const 5))
        (call $emit (i32.load (local.get $e)) (i32.load offset=4 (local.get $e)))
        (call $emit (i32.const 278) (i32.const 1))
        (call $emit (i32.load offset=8 (local.get $e)) (i32.load offset=12 (local.get $e)))
        (call $emit (i32.const 280) (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))

    ;; 3. Respond.
    (local.set $fields (call $fields_new))
    (call $fields_append (local.get $fields) (i32.const 64) (i32.const 12) (i32.const 80) (i32.const 10) (i32.const 0))
    (local.set $response (call $response_new (local.get $fields)))
    (call $response_body (local.get $response) (i32.const 0))
    (local.set $body (i32.load (i32.const 4)))
    (call $body_write (local.get $body) (i32.const 0))
    (local.set $stream (i32.load (i32.const 4)))
    (call $outparam_set (local.get $out) (i32.const 0) (local.get $response)
      (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
    (drop (call $write_all (local.get $stream) (local.get $text) (i32.sub (global.get $heap) (local.get $text))))
    (call $drop_output_stream (local.get $stream))
    (call $body_finish (local.get $body) (i32.const 0) (i32.const 0) (i32.const 0)))

  ;; Writes the 15-byte line at $ptr to a stdio stream and drops the stream.
  (func $log (param $stream i32) (param $ptr i32)
    (drop (call $write_all (local.get $stream) (local.get $ptr) (i32.const 15)))
    (call $drop_output_stream (local.get $stream)))

  ;; Appends [ptr, ptr+len) at the heap top (align-1 allocations are contiguous).
  (func $emit (param $ptr i32) (param $len i32)
    (memory.copy
      (call $cabi_realloc (i32.const 0) (i32.const 0) (i32.const 1) (local.get $len))
      (local.get $ptr) (local.get $len)))

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

  ;; Bump allocator for the canonical ABI; memory is never freed (one instance per request).
  (func $cabi_realloc (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32) (result i32)
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
