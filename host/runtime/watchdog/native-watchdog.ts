/**
 * The native watchdog: `addon/watchdog.cc`, built by `npm ci` (see
 * `addon/build.mjs`). One thread per isolate sleeps until the running call's
 * deadline and asks V8 to terminate execution; the call cancels the
 * termination once control is back in C++ and reports the timeout.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { DeadlineExceeded } from './deadline-exceeded.js';
import type { Watchdog } from './watchdog.js';

interface Addon {
  call(fn: (a: unknown, b: unknown) => unknown, a: unknown, b: unknown, ms: number): unknown;
  fired(): number;
  readonly timedOut: symbol;
}

/** Where node-gyp puts the built addon. */
export const NATIVE_ADDON_PATH = fileURLToPath(new URL('./addon/build/Release/watchdog.node', import.meta.url));

/** Loads the native watchdog; throws with the reason when the addon is not built or does not load. */
export function nativeWatchdog(): Watchdog {
  if (!existsSync(NATIVE_ADDON_PATH)) {
    throw new Error(`the native watchdog addon is not built (${NATIVE_ADDON_PATH} is missing; \`npm rebuild micron\` or \`node host/runtime/watchdog/addon/build.mjs\` builds it)`);
  }
  const addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as Addon;
  const timedOut = addon.timedOut;
  const call = addon.call;
  return {
    kind: 'native',
    call<A, B, R>(fn: (a: A, b: B) => R, a: A, b: B, ms: number): R {
      const r = call(fn as (a: unknown, b: unknown) => unknown, a, b, ms);
      if (r === timedOut) throw new DeadlineExceeded();
      return r as R;
    },
    fired: () => addon.fired(),
  };
}
