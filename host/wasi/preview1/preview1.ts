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
 * wasi.memory.bind(instance.exports.memory as WebAssembly.Memory);
 * const code = wasi.start(instance);
 * const out = wasi.stdout.bytes();
 * ```
 */
import { argsEnvironImports, encodeStrings } from './args-environ.ts';
import type { EncodedStrings } from './args-environ.ts';
import { ByteSource } from './byte-source.ts';
import { clockImports } from './clocks.ts';
import { GuestClock } from './guest-clock.ts';
import { GuestMemory } from './guest-memory.ts';
import { OutputCapture } from './output-capture.ts';
import { pollImports } from './poll.ts';
import type { SleepPolicy } from './poll.ts';
import { isProcExit, procImports } from './proc.ts';
import { randomImports } from './random.ts';
import { stdioImports } from './stdio.ts';
import { unsupportedImports } from './unsupported.ts';

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
}

/** Default capture limits. */
export const DEFAULT_STDOUT_LIMIT = 10 * 1024 * 1024;
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
  /** The instance's memory; bind it right after instantiation. */
  readonly memory = new GuestMemory();
  /** stdin, stdout and stderr. */
  readonly stdin: ByteSource;
  readonly stdout: OutputCapture;
  readonly stderr: OutputCapture;
  /** The guest's clocks. */
  readonly clock: GuestClock;
  /** The import object for `new WebAssembly.Instance`. */
  readonly imports: { [PREVIEW1_MODULE]: Record<string, (...args: never[]) => unknown> };

  constructor(options: Preview1Options) {
    const args = isEncoded(options.args) ? options.args : encodeStrings(options.args as readonly string[]);
    const env = isEncoded(options.env) ? options.env : encodeEnv(options.env as Record<string, string>);
    this.stdin = new ByteSource(options.stdin ?? new Uint8Array(0));
    this.stdout = new OutputCapture(options.stdoutLimit ?? DEFAULT_STDOUT_LIMIT);
    this.stderr = new OutputCapture(options.stderrLimit ?? DEFAULT_STDERR_LIMIT);
    this.clock = options.clock ?? new GuestClock();
    const stdio = { stdin: this.stdin, stdout: this.stdout, stderr: this.stderr };
    const memory = this.memory;
    this.imports = {
      [PREVIEW1_MODULE]: {
        ...argsEnvironImports(memory, args, env),
        ...clockImports(memory, this.clock),
        ...randomImports(memory),
        ...stdioImports(memory, stdio),
        ...pollImports(memory, this.clock, stdio, {
          sleep: options.sleep ?? 'virtual',
          maxBlockMs: options.maxBlockMs ?? 1000,
        }),
        ...procImports(),
        ...unsupportedImports(),
      },
    };
  }

  /**
   * Binds the instance's exported `memory` and runs `entry` (default
   * `_start`) to completion. Returns the exit code: the one passed to
   * proc_exit, or 0 when the entry point returns. Traps and other host
   * errors propagate.
   */
  start(instance: WebAssembly.Instance, entry = '_start'): number {
    const memory = instance.exports.memory;
    if (!(memory instanceof WebAssembly.Memory)) throw new TypeError('preview1: the module exports no memory');
    this.memory.bind(memory);
    const run = instance.exports[entry];
    if (typeof run !== 'function') throw new TypeError(`preview1: the module exports no ${entry} function`);
    try {
      (run as () => void)();
      return 0;
    } catch (error) {
      if (isProcExit(error)) return error.code;
      throw error;
    }
  }
}

/** Every function name in wasi_snapshot_preview1 (the host provides all of them). */
export const PREVIEW1_FUNCTIONS: readonly string[] = Object.keys(
  new Preview1({ args: [], env: {} }).imports[PREVIEW1_MODULE],
).sort();
