/**
 * Micron's own wasi_snapshot_preview1, for command modules (Go's wasip1
 * port) run one request per instance.
 *
 * It is a sandbox by construction: no host filesystem, no host environment,
 * no sockets. A guest sees exactly the args and environment the caller
 * passes, reads stdin from a byte array and writes stdout/stderr into
 * bounded captures. Node's `node:wasi` is deliberately not used: it exposes
 * the host (preopens, real fds) and crashes after a few Go instances.
 *
 * One concern per file: {@link argsEnvironImports}, {@link clockImports},
 * {@link randomImports}, {@link stdioImports}, {@link pollImports},
 * {@link procImports}, {@link unsupportedImports}; this file only composes
 * them over one instance's state.
 *
 * @example
 * ```ts
 * const wasi = new Preview1({ args: ['app'], env: { A: '1' }, stdin: body });
 * const instance = new WebAssembly.Instance(module, wasi.imports);
 * const code = wasi.start(instance); // binds memory, runs _start
 * const out = wasi.stdout.bytes();
 * ```
 */
import { argsEnvironImports, encodeStrings } from './args-environ.js';
import type { EncodedStrings } from './args-environ.js';
import { ByteSource } from './byte-source.js';
import { clockImports } from './clocks.js';
import { GuestClock } from './guest-clock.js';
import { GuestMemory } from './guest-memory.js';
import { OutputCapture } from './output-capture.js';
import { pollImports } from './poll.js';
import type { SleepPolicy } from './poll.js';
import { isProcExit, procImports } from './proc.js';
import { randomImports } from './random.js';
import { stdioImports } from './stdio.js';
import { unsupportedImports } from './unsupported.js';
import type { Preview1State } from './state.js';

/** The import module name every preview1 function lives under. */
export const PREVIEW1_MODULE = 'wasi_snapshot_preview1';

/** What one instance gets to see. */
export interface Preview1Options {
  /** argv; argv[0] is the program name. */
  args: readonly string[] | EncodedStrings;
  /** The whole environment: nothing else leaks in. */
  env: Readonly<Record<string, string>> | readonly (readonly [string, string])[] | EncodedStrings;
  /** stdin's bytes (for a request: its body). */
  stdin?: Uint8Array;
  /** Bytes of stdout kept (default 10 MiB). */
  stdoutLimit?: number;
  /** Bytes of stderr kept (default 64 KiB). */
  stderrLimit?: number;
  /** The guest's clocks; pass one to carry a virtual offset over (default: a fresh clock). */
  clock?: GuestClock;
  /** How poll_oneoff sleeps (default `virtual`). */
  sleep?: SleepPolicy;
  /** Cap on one real wait under `block`, in ms (default 1000). */
  maxBlockMs?: number;
  /** Extra import names mapped to preview1 functions (see {@link importAliases}). */
  aliases?: readonly (readonly [alias: string, name: string])[];
}

/** Default stdout capture limit: 10 MiB. */
export const DEFAULT_STDOUT_LIMIT = 10 * 1024 * 1024;
/** Default stderr capture limit: 64 KiB. */
export const DEFAULT_STDERR_LIMIT = 64 * 1024;

/** Encodes an environment as `KEY=value` strings (for reuse across instances). */
export function encodeEnv(env: Readonly<Record<string, string>> | readonly (readonly [string, string])[]): EncodedStrings {
  const entries = Array.isArray(env) ? (env as readonly (readonly [string, string])[]) : Object.entries(env);
  return encodeStrings(
    entries.map(([k, v]) => {
      if (k.length === 0 || k.includes('=')) throw new TypeError(`preview1: bad environment variable name ${JSON.stringify(k)}`);
      return `${k}=${v}`;
    }),
  );
}

function isEncoded(value: unknown): value is EncodedStrings {
  return typeof value === 'object' && value !== null && 'block' in value && 'offsets' in value;
}

/** One instance's preview1 state and its import object. */
export class Preview1 {
  readonly #state: Preview1State;
  /** The import object for `new WebAssembly.Instance`. */
  readonly imports: { [PREVIEW1_MODULE]: Record<string, (...args: never[]) => unknown> };

  constructor(options: Preview1Options) {
    this.#state = { memory: new GuestMemory(), ...Preview1.#fresh(options) };
    const state = this.#state;
    this.imports = {
      [PREVIEW1_MODULE]: {
        ...argsEnvironImports(state),
        ...clockImports(state),
        ...randomImports(state),
        ...stdioImports(state),
        ...pollImports(state),
        ...procImports(),
        ...unsupportedImports(),
      },
    };
    const functions = this.imports[PREVIEW1_MODULE];
    for (const [alias, name] of options.aliases ?? []) {
      const f = functions[name];
      if (f) functions[alias] = f;
    }
  }

  static #fresh(options: Preview1Options): Omit<Preview1State, 'memory'> {
    return {
      args: isEncoded(options.args) ? options.args : encodeStrings(options.args as readonly string[]),
      env: isEncoded(options.env) ? options.env : encodeEnv(options.env as Record<string, string>),
      stdin: new ByteSource(options.stdin ?? new Uint8Array(0)),
      stdout: new OutputCapture(options.stdoutLimit ?? DEFAULT_STDOUT_LIMIT),
      stderr: new OutputCapture(options.stderrLimit ?? DEFAULT_STDERR_LIMIT),
      clock: options.clock ?? new GuestClock(),
      openFds: 0b111,
      sleep: options.sleep ?? 'virtual',
      maxBlockMs: options.maxBlockMs ?? 1000,
    };
  }

  /**
   * Replaces everything the guest can observe (args, environment, stdio,
   * clock) for the next run of a reused instance. The memory binding stays.
   */
  reset(options: Preview1Options): void {
    Object.assign(this.#state, Preview1.#fresh(options));
  }

  /** The instance's memory; bound by {@link Preview1.start} or by hand. */
  get memory(): GuestMemory {
    return this.#state.memory;
  }
  /** stdin of the current run. */
  get stdin(): ByteSource {
    return this.#state.stdin;
  }
  /** stdout of the current run. */
  get stdout(): OutputCapture {
    return this.#state.stdout;
  }
  /** stderr of the current run. */
  get stderr(): OutputCapture {
    return this.#state.stderr;
  }
  /** The guest's clocks in the current run. */
  get clock(): GuestClock {
    return this.#state.clock;
  }

  /**
   * Binds the instance's exported `memory` and calls `entry` (default
   * `_start`). Returns the code passed to proc_exit, or `undefined` if the
   * entry point returned without calling it (for Go: the program paused).
   * Traps and other host errors propagate.
   */
  start(instance: WebAssembly.Instance, entry = '_start'): number | undefined {
    const memory = instance.exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new TypeError('preview1: the module exports no memory');
    this.memory.bind(memory);
    const run = instance.exports[entry];
    if (typeof run !== 'function') throw new TypeError(`preview1: the module exports no ${entry} function`);
    try {
      (run as () => void)();
      return undefined;
    } catch (error) {
      if (isProcExit(error)) return error.code;
      throw error;
    }
  }
}

/**
 * The renamed preview1 imports of a module, as [alias, name] pairs.
 * wit-component gives a module's duplicate imports unique names (Go imports
 * `fd_write` and `random_get` twice; inside a component the second is
 * `fd_write [v2]`), so a core module taken out of a component needs them.
 */
export function importAliases(module: WebAssembly.Module): [string, string][] {
  const out: [string, string][] = [];
  for (const { module: from, name } of WebAssembly.Module.imports(module)) {
    const match = from === PREVIEW1_MODULE ? /^(.+) \[v\d+\]$/.exec(name) : null;
    if (match) out.push([name, match[1]!]);
  }
  return out;
}

/** Every function name in wasi_snapshot_preview1 (the host provides all of them). */
export const PREVIEW1_FUNCTIONS: readonly string[] = Object.keys(
  new Preview1({ args: [], env: {} }).imports[PREVIEW1_MODULE],
).sort();
