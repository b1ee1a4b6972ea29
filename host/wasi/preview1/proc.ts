/**
 * proc_exit, proc_raise and sched_yield.
 *
 * proc_exit must not return to the guest, so it throws a {@link ProcExit};
 * the runner catches it around `_start` and reads the exit code. It is not an
 * `Error` (no stack trace to capture on the hot exit path of every request),
 * and a guest cannot forge one: wasm code cannot throw JavaScript values.
 */
import { Errno } from './errno.js';

/** Thrown by proc_exit to unwind the guest; carries the exit code. */
export class ProcExit {
  constructor(readonly code: number) {}
}

/** True if `value` is the signal proc_exit throws. */
export function isProcExit(value: unknown): value is ProcExit {
  return value instanceof ProcExit;
}

/** The process imports. */
export function procImports() {
  return {
    proc_exit(code: number): never {
      throw new ProcExit(code >>> 0);
    },
    proc_raise(_signal: number): number {
      return Errno.nosys;
    },
    sched_yield(): number {
      // A guest has this thread to itself while it runs; there is nobody to yield to.
      return Errno.success;
    },
  };
}
