/**
 * Small ad-hoc WAT guests for the multi-tenant safety tests: each is the body
 * of a `handle` function over a shared prelude (imports, constants, helpers),
 * built into a component with `buildWatComponent`.
 *
 * Memory map of every guest: 0..63 return areas, 64..1023 constants,
 * 1024.. bump heap (reset on entry), 8192..12287 a scratch buffer.
 *
 * Helpers the bodies may call:
 * - `$respond(out, status, ptr, len)`: sets a response with that status and
 *   body in one go (finished body);
 * - `$head(out, status) -> stream`: sets the response and returns its open
 *   output stream (global `$body` holds the outgoing-body);
 * - `$head_fields(out, fields, status) -> stream`: the same with the guest's own header set;
 * - `$write(stream, ptr, len) -> ok`: blocking-write-and-flush;
 * - `$finish()`: drops nothing, finishes `$body`;
 * - `$sleep_ms(ms)`: monotonic-clock wait;
 * - `$itoa(n) -> len`: decimal digits of n at 4096.
 */
import { buildWatComponent } from '../components/build-lib.js';

const PRELUDE = `
  (import "wasi:http/types@0.2.12" "[constructor]fields" (func $fields_new (result i32)))
  (import "wasi:http/types@0.2.12" "[method]fields.append" (func $fields_append (param i32 i32 i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[constructor]outgoing-response" (func $response_new (param i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-response.set-status-code" (func $set_status (param i32 i32) (result i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-response.body" (func $response_body (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]outgoing-body.write" (func $body_write (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[static]outgoing-body.finish" (func $body_finish (param i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[static]response-outparam.set" (func $outparam_set (param i32 i32 i32 i32 i64 i32 i32 i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-request.consume" (func $request_consume (param i32 i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-body.stream" (func $incoming_body_stream (param i32 i32)))
  (import "wasi:io/streams@0.2.12" "[method]input-stream.blocking-read" (func $blocking_read (param i32 i64 i32)))
  (import "wasi:io/streams@0.2.12" "[method]output-stream.blocking-write-and-flush" (func $write_and_flush (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.12" "[resource-drop]output-stream" (func $drop_output_stream (param i32)))
  (import "wasi:io/error@0.2.12" "[resource-drop]error" (func $drop_error (param i32)))
  (import "wasi:io/poll@0.2.12" "[method]pollable.block" (func $block (param i32)))
  (import "wasi:io/poll@0.2.12" "[resource-drop]pollable" (func $drop_pollable (param i32)))
  (import "wasi:clocks/monotonic-clock@0.2.12" "subscribe-duration" (func $subscribe_duration (param i64) (result i32)))
  (import "wasi:cli/stdout@0.2.12" "get-stdout" (func $get_stdout (result i32)))
  (import "wasi:http/types@0.2.12" "[method]incoming-request.method" (func $request_method (param i32 i32)))

  (memory (export "memory") 1 MAXPAGES)
  (global $heap (mut i32) (i32.const 1024))
  (global $body (mut i32) (i32.const 0))

  (data (i32.const 64) "content-type")
  (data (i32.const 80) "text/plain")
  (data (i32.const 96) "ok\\n")

  (func $head (param $out i32) (param $status i32) (result i32)
    (local $fields i32)
    (local.set $fields (call $fields_new))
    (call $fields_append (local.get $fields) (i32.const 64) (i32.const 12) (i32.const 80) (i32.const 10) (i32.const 0))
    (call $head_fields (local.get $out) (local.get $fields) (local.get $status)))

  (func $head_fields (param $out i32) (param $fields i32) (param $status i32) (result i32)
    (local $response i32)
    (local.set $response (call $response_new (local.get $fields)))
    (drop (call $set_status (local.get $response) (local.get $status)))
    (call $response_body (local.get $response) (i32.const 0))
    (global.set $body (i32.load (i32.const 4)))
    (call $body_write (global.get $body) (i32.const 0))
    (call $outparam_set (local.get $out) (i32.const 0) (local.get $response)
      (i32.const 0) (i64.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
    (i32.load (i32.const 4)))

  (func $write (param $stream i32) (param $ptr i32) (param $len i32) (result i32)
    (call $write_and_flush (local.get $stream) (local.get $ptr) (local.get $len) (i32.const 32))
    (if (i32.load8_u (i32.const 32))
      (then
        (if (i32.eqz (i32.load8_u (i32.const 36))) (then (call $drop_error (i32.load (i32.const 40)))))
        (return (i32.const 0))))
    (i32.const 1))

  (func $finish
    (call $body_finish (global.get $body) (i32.const 0) (i32.const 0) (i32.const 0)))

  (func $respond (param $out i32) (param $status i32) (param $ptr i32) (param $len i32)
    (local $s i32)
    (local.set $s (call $head (local.get $out) (local.get $status)))
    (drop (call $write (local.get $s) (local.get $ptr) (local.get $len)))
    (call $drop_output_stream (local.get $s))
    (call $finish))

  (func $sleep_ms (param $ms i32)
    (local $p i32)
    (local.set $p (call $subscribe_duration (i64.mul (i64.extend_i32_u (local.get $ms)) (i64.const 1000000))))
    (call $block (local.get $p))
    (call $drop_pollable (local.get $p)))

  ;; Decimal digits of $n at 4096..; returns their count.
  (func $itoa (param $n i32) (result i32)
    (local $len i32) (local $i i32) (local $t i32) (local $c i32)
    (local.set $t (local.get $n))
    (loop $count
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (local.set $t (i32.div_u (local.get $t) (i32.const 10)))
      (br_if $count (local.get $t)))
    (local.set $i (local.get $len))
    (local.set $t (local.get $n))
    (loop $digits
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (i32.add (i32.const 4096) (local.get $i)) (i32.add (i32.const 48) (i32.rem_u (local.get $t) (i32.const 10))))
      (local.set $t (i32.div_u (local.get $t) (i32.const 10)))
      (br_if $digits (local.get $i)))
    (local.get $len))

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
`;

/** Options of {@link guestWat}. */
export interface GuestOptions {
  /** Extra module fields (data, funcs, imports are not allowed here: put them in `imports`). */
  fields?: string;
  /** Extra imports, placed before the prelude's memory. */
  imports?: string;
  /** Declared maximum of the guest's memory, in pages (none by default). */
  maxPages?: number;
  /** Locals of `handle`. */
  locals?: string;
}

/** WAT text of a guest whose `handle(request, out)` runs `body`. */
export function guestWat(body: string, opts: GuestOptions = {}): string {
  const prelude = PRELUDE.replace(' MAXPAGES', opts.maxPages === undefined ? '' : ` ${opts.maxPages}`);
  return `(module
  ${opts.imports ?? ''}
  ${prelude}
  ${opts.fields ?? ''}
  (func (export "wasi:http/incoming-handler@0.2.12#handle") (param $request i32) (param $out i32)
    ${opts.locals ?? ''}
    (global.set $heap (i32.const 1024))
    ${body})
)`;
}

/** Builds a guest component (see {@link guestWat}). */
export function buildGuest(body: string, opts?: GuestOptions): Promise<Uint8Array> {
  return buildWatComponent(guestWat(body, opts));
}

/** The guests the safety tests share. */
export const GUESTS = {
  /** Reads the whole request body, then answers 200 with the byte count. */
  sink: {
    locals: '(local $in i32) (local $n i32)',
    body: `
    (call $request_consume (local.get $request) (i32.const 0))
    (call $incoming_body_stream (i32.load (i32.const 4)) (i32.const 0))
    (local.set $in (i32.load (i32.const 4)))
    (block $eof
      (loop $read
        (global.set $heap (i32.const 16384))
        (call $blocking_read (local.get $in) (i64.const 65536) (i32.const 0))
        (br_if $eof (i32.load8_u (i32.const 0)))
        (local.set $n (i32.add (local.get $n) (i32.load (i32.const 8))))
        (br $read)))
    (call $respond (local.get $out) (i32.const 200) (i32.const 4096) (call $itoa (local.get $n)))`,
  },
  /** Writes `lines` lines of 64 bytes to stdout, then answers 200 "ok". */
  logFlood: (lines: number) => ({
    locals: '(local $so i32) (local $i i32)',
    body: `
    (memory.fill (i32.const 8192) (i32.const 120) (i32.const 63))
    (i32.store8 (i32.const 8255) (i32.const 10))
    (local.set $so (call $get_stdout))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const ${lines})))
        (drop (call $write (local.get $so) (i32.const 8192) (i32.const 64)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $drop_output_stream (local.get $so))
    (call $respond (local.get $out) (i32.const 200) (i32.const 96) (i32.const 3))`,
  }),
  /** Grows memory one page at a time until `memory.grow` fails; answers 200 with the final page count. */
  grow: {
    body: `
    (block $full
      (loop $more
        (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $more)))
    (call $respond (local.get $out) (i32.const 200) (i32.const 4096) (call $itoa (memory.size)))`,
  },
  /** Never returns and never yields. */
  spin: {
    body: `
    (loop $forever (br $forever))`,
  },
  /** Sends its head and a first chunk, waits a little, then spins forever. */
  spinAfterHead: {
    locals: '(local $s i32)',
    body: `
    (local.set $s (call $head (local.get $out) (i32.const 200)))
    (drop (call $write (local.get $s) (i32.const 96) (i32.const 3)))
    (call $sleep_ms (i32.const 20))
    (loop $forever (br $forever))`,
  },
  /** Spins forever on POST; answers 200 "ok" to anything else. */
  spinOnPost: {
    body: `
    (call $request_method (local.get $request) (i32.const 0))
    (if (i32.eq (i32.load8_u (i32.const 0)) (i32.const 2))
      (then (loop $forever (br $forever))))
    (call $respond (local.get $out) (i32.const 200) (i32.const 96) (i32.const 3))`,
  },
  /** Sleeps `ms`, then answers 200 "ok". */
  sleep: (ms: number) => ({
    body: `
    (call $sleep_ms (i32.const ${ms}))
    (call $respond (local.get $out) (i32.const 200) (i32.const 96) (i32.const 3))`,
  }),
} as const;
