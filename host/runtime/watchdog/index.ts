/**
 * Deadlines for guest code that never yields. Every entry into guest code
 * (instantiation, `handle` and each resumption after a wait) goes through
 * {@link watchdog}, which stops it at the invocation's deadline.
 *
 * The implementation is chosen once per process by `MICRON_WATCHDOG`:
 * `auto` (default: native, else vm with a warning), `native` (fail at start
 * without the addon), `vm`, or `off` (no protection; only for benchmarks).
 * See docs/adr/002-deadlines.md for the measurements behind the choice.
 */
import { nativeWatchdog } from './native-watchdog.js';
import { vmWatchdog } from './vm-watchdog.js';
import type { Watchdog } from './watchdog.js';

export { DeadlineExceeded } from './deadline-exceeded.js';
export type { Watchdog } from './watchdog.js';

/** Values of `MICRON_WATCHDOG`. */
export type WatchdogChoice = 'auto' | 'native' | 'vm' | 'off';

const CHOICES: readonly WatchdogChoice[] = ['auto', 'native', 'vm', 'off'];

/** Runs guest code without a deadline. */
const off: Watchdog = { kind: 'off', call: (fn, a, b) => fn(a, b), fired: () => 0 };

/** Builds the watchdog for `choice`; `auto` falls back to `vm` and says why. */
export function selectWatchdog(choice: string): { watchdog: Watchdog; fallback?: string } {
  if (!(CHOICES as readonly string[]).includes(choice)) {
    throw new Error(`MICRON_WATCHDOG must be one of ${CHOICES.join(', ')} (got ${JSON.stringify(choice)})`);
  }
  if (choice === 'off') return { watchdog: off };
  if (choice === 'vm') return { watchdog: vmWatchdog() };
  try {
    return { watchdog: nativeWatchdog() };
  } catch (e) {
    if (choice === 'native') throw e;
    return { watchdog: vmWatchdog(), fallback: (e as Error).message };
  }
}

function initial(): Watchdog {
  const { watchdog: w, fallback } = selectWatchdog(process.env.MICRON_WATCHDOG ?? 'auto');
  if (fallback) {
    process.emitWarning(`deadlines use the slower vm fallback (about 50 µs per guest call): ${fallback}`, { code: 'MICRON_WATCHDOG_FALLBACK' });
  }
  return w;
}

/** The process's watchdog (one per thread: it belongs to the thread's V8 isolate). */
export let watchdog: Watchdog = initial();

/** Replaces the process's watchdog (benchmarks compare implementations in one process). */
export function useWatchdog(choice: Exclude<WatchdogChoice, 'auto'>): Watchdog {
  watchdog = selectWatchdog(choice).watchdog;
  return watchdog;
}
