/**
 * The per-request state every preview1 function reads. The import functions
 * close over one {@link Preview1State} and read its fields at call time, so
 * an instance that is reused for another request (see command-snapshot.ts)
 * gets new args, environment, stdio and clock by replacing the fields.
 */
import type { EncodedStrings } from './args-environ.js';
import type { ByteSource } from './byte-source.js';
import type { GuestClock } from './guest-clock.js';
import type { GuestMemory } from './guest-memory.js';
import type { OutputCapture } from './output-capture.js';
import type { SleepPolicy } from './poll.js';

/** Everything one run of a guest can observe through preview1. */
export interface Preview1State {
  memory: GuestMemory;
  args: EncodedStrings;
  env: EncodedStrings;
  stdin: ByteSource;
  stdout: OutputCapture;
  stderr: OutputCapture;
  clock: GuestClock;
  /** Bit n set = descriptor n (0-2) is open; fd_close clears it. */
  openFds: number;
  sleep: SleepPolicy;
  /** Cap on one real wait under `block`, in ms. */
  maxBlockMs: number;
}
