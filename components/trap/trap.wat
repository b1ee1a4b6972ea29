;; trap: a guest that traps.
;;
;; Contract: `wasi:http/incoming-handler@0.2.12#handle` executes `unreachable`
;; as its first instruction, so every call traps before touching the request
;; or the response-outparam. The component imports nothing.
;;
;; `memory` and `cabi_realloc` are exported like every other fixture; the
;; allocator is never called.
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))

  (func (export "wasi:http/incoming-handler@0.2.12#handle") (param $request i32) (param $out i32)
    unreachable)

  ;; Bump allocator (no growth needed: nothing is ever lowered into this guest).
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $new_size i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (i32.and
      (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
      (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $ptr) (local.get $new_size)))
    (local.get $ptr))
)
