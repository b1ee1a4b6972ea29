/**
 * The fallback watchdog: node's `vm` timeout. Node starts a watchdog thread
 * for every timed run, which costs tens of µs per guest call (measured in
 * bench/deadlines.bench.ts), but needs no native build.
 */
import vm from 'node:vm';
import { DeadlineExceeded } from './deadline-exceeded.js';
import type { Watchdog } from './watchdog.js';

/** A watchdog built on `vm.Script#runInContext({ timeout })`. */
export function vmWatchdog(): Watchdog {
  const slot: { f: ((a: unknown, b: unknown) => unknown) | undefined; a: unknown; b: unknown; r: unknown } = { f: undefined, a: undefined, b: undefined, r: undefined };
  const context = vm.createContext(slot);
  const script = new vm.Script('r = f(a, b)', { filename: 'micron-watchdog' });
  let depth = 0;
  return {
    kind: 'vm',
    call<A, B, R>(fn: (a: A, b: B) => R, a: A, b: B, ms: number): R {
      if (depth > 0) return fn(a, b);
      if (!(ms > 0)) throw new DeadlineExceeded();
      slot.f = fn as (a: unknown, b: unknown) => unknown;
      slot.a = a;
      slot.b = b;
      depth++;
      try {
        script.runInContext(context, { timeout: Math.min(2 ** 31 - 1, Math.max(1, Math.ceil(ms))), displayErrors: false });
        return slot.r as R;
      } catch (e) {
        if ((e as { code?: string } | null)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new DeadlineExceeded();
        throw e;
      } finally {
        depth--;
        slot.f = slot.a = slot.b = slot.r = undefined;
      }
    },
    fired: () => 0,
  };
}
