/**
 * poll_oneoff: clock subscriptions (how Go's runtime sleeps and runs timers)
 * and fd subscriptions on stdio.
 *
 * Stdio is always ready: stdin is an in-memory body and stdout/stderr are
 * in-memory captures, so fd subscriptions complete at once and a poll with
 * any of them never sleeps. A poll with only clock subscriptions sleeps until
 * the earliest deadline, in one of two ways ({@link SleepPolicy}):
 *
 * - `virtual` (default): advance the guest's clocks by the delay and return at
 *   once. The guest observes exactly the time it asked for and the host thread
 *   is never blocked. Measured with a Go handler doing `time.Sleep(50ms)`: the
 *   guest measures 50 ms, the request takes ~1 ms of wall time.
 * - `block`: really wait with `Atomics.wait`. This blocks the whole thread (on
 *   the main thread: the event loop, every other request included): the same
 *   handler takes 51 ms and a 1 ms `setInterval` on the main thread saw a
 *   61 ms gap. Only sensible in a worker; delays are capped by `maxBlockMs`.
 */
import { readClock, setU64 } from './clocks.js';
import { Errno } from './errno.js';
import type { Preview1State } from './state.js';

/** How a guest's sleep is carried out (see the module comment). */
export type SleepPolicy = 'virtual' | 'block';

const SUBSCRIPTION_SIZE = 48;
const EVENT_SIZE = 32;
const EVENTTYPE_CLOCK = 0;
const EVENTTYPE_FD_READ = 1;
const EVENTTYPE_FD_WRITE = 2;
const SUBCLOCKFLAGS_ABSTIME = 1;
const EVENTRWFLAGS_HANGUP = 1;

let waitCell: Int32Array | undefined;

/** Blocks this thread for `ms` milliseconds. */
function blockFor(ms: number): void {
  waitCell ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(waitCell, 0, 0, ms);
}

/** The poll_oneoff import. */
export function pollImports(state: Preview1State) {
  const memory = state.memory;
  function writeEvent(
    view: DataView,
    at: number,
    sub: number,
    type: number,
    error: number,
    nbytes: number,
    flags: number,
  ): void {
    view.setUint32(at, view.getUint32(sub, true), true); // userdata, copied as two words
    view.setUint32(at + 4, view.getUint32(sub + 4, true), true);
    view.setUint16(at + 8, error, true);
    view.setUint8(at + 10, type);
    setU64(view, at + 16, nbytes);
    view.setUint16(at + 24, flags, true);
  }

  return {
    poll_oneoff(inPtr: number, outPtr: number, nsubscriptions: number, neventsPtr: number): number {
      if (nsubscriptions === 0) return Errno.inval;
      const clock = state.clock;
      const stdio = state;
      let view = memory.view;
      let nevents = 0;
      let earliest = Infinity;
      let earliestSub = inPtr;

      for (let i = 0; i < nsubscriptions; i++) {
        const sub = inPtr + i * SUBSCRIPTION_SIZE;
        const tag = view.getUint8(sub + 8);
        if (tag === EVENTTYPE_CLOCK) {
          const now = readClock(clock, view.getUint32(sub + 16, true));
          if (now === undefined) {
            writeEvent(view, outPtr + nevents++ * EVENT_SIZE, sub, tag, Errno.inval, 0, 0);
            continue;
          }
          const timeout = Number(view.getBigUint64(sub + 24, true));
          const absolute = (view.getUint16(sub + 40, true) & SUBCLOCKFLAGS_ABSTIME) !== 0;
          const delay = absolute ? timeout - now : timeout;
          if (delay < earliest) {
            earliest = delay;
            earliestSub = sub;
          }
        } else if (tag === EVENTTYPE_FD_READ || tag === EVENTTYPE_FD_WRITE) {
          const fd = view.getUint32(sub + 16, true);
          const ok = tag === EVENTTYPE_FD_READ ? fd === 0 : fd === 1 || fd === 2;
          const remaining = tag === EVENTTYPE_FD_READ && ok ? stdio.stdin.remaining : 0;
          const flags = tag === EVENTTYPE_FD_READ && ok && remaining === 0 ? EVENTRWFLAGS_HANGUP : 0;
          writeEvent(view, outPtr + nevents++ * EVENT_SIZE, sub, tag, ok ? Errno.success : Errno.badf, remaining, flags);
        } else {
          return Errno.inval;
        }
      }

      if (nevents === 0) {
        // Only clocks: sleep until the earliest one, then report every clock that is due.
        const delay = Math.max(0, earliest);
        if (delay > 0) {
          if (state.sleep === 'block') blockFor(Math.min(delay / 1e6, state.maxBlockMs));
          else clock.advance(delay);
        }
        view = memory.view;
        for (let i = 0; i < nsubscriptions; i++) {
          const sub = inPtr + i * SUBSCRIPTION_SIZE;
          const now = readClock(clock, view.getUint32(sub + 16, true)) ?? 0;
          const timeout = Number(view.getBigUint64(sub + 24, true));
          const absolute = (view.getUint16(sub + 40, true) & SUBCLOCKFLAGS_ABSTIME) !== 0;
          const due = absolute ? timeout <= now : timeout <= delay;
          if (due) writeEvent(view, outPtr + nevents++ * EVENT_SIZE, sub, EVENTTYPE_CLOCK, Errno.success, 0, 0);
        }
        // Under `block` a capped wait may end early; report the earliest clock anyway
        // (a poll must return at least one event, and the guest re-checks the time).
        if (nevents === 0) writeEvent(view, outPtr + nevents++ * EVENT_SIZE, earliestSub, EVENTTYPE_CLOCK, Errno.success, 0, 0);
      }

      view.setUint32(neventsPtr, nevents, true);
      return Errno.success;
    },
  };
}
