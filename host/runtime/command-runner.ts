/**
 * Runs a WASI preview 1 command (a Go function's core module) once per
 * request, CGI style. The contract, which sdk/go/README.md documents for
 * guest authors:
 *
 * - **in**: the environment holds the function's configured variables plus
 *   REQUEST_METHOD, REQUEST_URI, PATH_INFO, QUERY_STRING, SERVER_PROTOCOL,
 *   SERVER_NAME, SERVER_PORT, HTTPS, CONTENT_TYPE, CONTENT_LENGTH,
 *   GATEWAY_INTERFACE, MICRON_REQUEST_ID and one HTTP_<NAME> per request
 *   header (upper-cased, `-` → `_`; CGI's variables win over configured ones).
 *   stdin is the request body. Nothing of the host's environment leaks in.
 * - **out**: stdout is `Status: NNN reason`, header lines, a blank line, the
 *   body (CRLF or LF line ends). Without Status the status is 200, or 302
 *   with a Location header. stderr is captured for the host's log.
 * - exit code 0 (or returning from `_start`); anything else, a trap, or
 *   output that does not parse is a {@link CommandError} (`guest_error`,
 *   HTTP 500; the server answers with a generic 500 and logs the details).
 *
 How each request gets its instance ({@link CommandMode}):
 *
 * - `snapshot`: a Go module built with the SDK's `micron_snapshot` tag (what
 *   `micron build` does) is run once per configured environment until it
 *   pauses in `micron.Serve`; that state is captured, and one instance per
 *   configured environment is written back to it (memory and globals) before
 *   each request, so every request starts from exactly the paused state with
 *   runtime and package init already done. See
 *   host/wasi/preview1/command-snapshot.ts for why that is sound for Go. The
 *   write-back runs in a `setImmediate` after each request, off the next
 *   request's latency when the host has a moment.
 * - `fresh`: a new `WebAssembly.Instance` and `_start` per request: any other
 *   command, a snapshot the SDK declined, or `mode: 'fresh'`.
 */
import { MicronError } from '../errors.ts';
import { InstanceImage, pausableModule, resume, SNAPSHOT_MARKER, SNAPSHOT_PREPARE } from '../wasi/preview1/command-snapshot.ts';
import { ExternKind, readExports, readImportModules, readSections, SectionId } from '../wasi/preview1/core-module.ts';
import {
  DEFAULT_STDERR_LIMIT,
  DEFAULT_STDOUT_LIMIT,
  encodeEnv,
  importAliases,
  Preview1,
  PREVIEW1_FUNCTIONS,
  PREVIEW1_MODULE,
} from '../wasi/preview1/preview1.ts';
import type { Preview1Options } from '../wasi/preview1/preview1.ts';
import { GuestClock } from '../wasi/preview1/guest-clock.ts';
import { isProcExit } from '../wasi/preview1/proc.ts';
import type { SleepPolicy } from '../wasi/preview1/poll.ts';
import { DeadlineExceeded, watchdog } from './watchdog/index.ts';

/** One request as the runner sees it. */
export interface CommandRequest {
  method: string;
  url: URL;
  headers: Headers | [string, string][];
  body: Uint8Array;
  /** The function's configured environment. */
  env: Record<string, string>;
  requestId: string;
  limits?: {
    /** Largest response (headers and body) kept from stdout; more is an error. Default 10 MiB. */
    stdoutBytes?: number;
    /** stderr kept for the log; more is cut. Default 64 KiB. */
    stderrBytes?: number;
  };
  /**
   * How long the guest may run, ms. Past it the guest is stopped, even in a
   * loop that never yields, and `run` rejects with `DeadlineExceeded`.
   * Default: no deadline.
   */
  deadlineMs?: number;
}

/** The parsed response. */
export interface CommandResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
  /** What the guest wrote to stderr (for the host's log, never for the client). */
  stderr: string;
  /** Size of the guest's linear memory at the end of the run, in 64 KiB pages (for records and billing). */
  memoryPages?: number;
}

/** How requests get an instance (see the module comment). */
export type CommandMode = 'snapshot' | 'fresh';

/** Options for {@link CommandRunner}. */
export interface CommandRunnerOptions {
  /**
   * The module's bytes. Needed for `snapshot` (the module is rewritten to
   * export its globals); without them every request is `fresh`.
   */
  source?: Uint8Array;
  /** `fresh` forces a new instance per request; `auto` (default) picks the fastest mode that is sound. */
  mode?: 'auto' | 'fresh';
  /** How guest sleeps are carried out (default `virtual`; see host/wasi/preview1/poll.ts). */
  sleep?: SleepPolicy;
  /** argv[0] the guest sees (default `function.wasm`). */
  argv0?: string;
}

/** A failed run: the guest trapped, exited non-zero, or answered something that does not parse. */
export class CommandError extends MicronError {
  constructor(
    message: string,
    /** The guest's stderr, for the log. */
    readonly stderr: string,
    /** Its exit code, when it exited. */
    readonly exitCode?: number,
    options?: { cause?: unknown },
  ) {
    super('guest_error', message, options);
    this.name = 'CommandError';
  }
}

/** The instance kept for one configured environment in `snapshot` mode. */
interface Slot {
  image: InstanceImage;
  wasi: Preview1;
  instance: WebAssembly.Instance | undefined;
  /** True when the instance ran since it was last restored. */
  dirty: boolean;
}

const MAX_SLOTS = 8;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const latin1 = new TextDecoder('latin1');

/**
 * Runs one compiled command module, one request at a time per call, with a
 * fresh guest state every time.
 *
 * @example
 * ```ts
 * const runner = await CommandRunner.compile(readFileSync('app.wasm'));
 * const res = await runner.run({ method: 'GET', url: new URL('http://x/hi'), headers: [],
 *   body: new Uint8Array(), env: {}, requestId: 'r1' });
 * ```
 */
export class CommandRunner {
  /** The mode requests will use (a `snapshot` runner may still run an environment `fresh` if the guest declines). */
  readonly mode: CommandMode;
  readonly #module: WebAssembly.Module;
  readonly #globalCount: number;
  readonly #sleep: SleepPolicy;
  readonly #argv0: string;
  readonly #aliases: [string, string][];
  readonly #slots = new Map<string, Slot | 'declined'>();
  #restores = 0;

  /**
   * @param module - a compiled wasip1 command (used as is in `fresh` mode)
   * @param options - pass `source` to enable snapshots
   */
  constructor(module: WebAssembly.Module, options: CommandRunnerOptions = {}) {
    this.#sleep = options.sleep ?? 'virtual';
    this.#argv0 = options.argv0 ?? 'function.wasm';
    const pausable = options.mode !== 'fresh' && options.source ? pausableModule(options.source) : undefined;
    if (pausable) {
      this.#module = new WebAssembly.Module(pausable.bytes);
      this.#globalCount = pausable.globalCount;
      this.mode = 'snapshot';
    } else {
      this.#module = module;
      this.#globalCount = 0;
      this.mode = 'fresh';
    }
    this.#aliases = importAliases(this.#module);
    checkShape(this.#module, this.#aliases);
  }

  /** Compiles `bytes` and returns a runner with snapshots enabled where the module supports them. */
  static async compile(bytes: Uint8Array, options: Omit<CommandRunnerOptions, 'source'> = {}): Promise<CommandRunner> {
    const module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    return new CommandRunner(module, { ...options, source: bytes });
  }

  /** How many times a snapshot instance was written back to its image (or replaced); for tests and metrics. */
  get restoreCount(): number {
    return this.#restores;
  }

  /** The mode a request with this configured environment uses (prepares it if needed). */
  modeFor(env: Record<string, string>): CommandMode {
    if (this.mode === 'fresh') return 'fresh';
    return this.#slot(env) ? 'snapshot' : 'fresh';
  }

  /** Runs one request. Rejects with a {@link CommandError} when the guest fails. */
  async run(input: CommandRequest): Promise<CommandResponse> {
    return this.runSync(input);
  }

  /** {@link CommandRunner.run}, synchronously (the guest runs on this thread either way). */
  runSync(input: CommandRequest): CommandResponse {
    const options: Preview1Options = {
      args: [this.#argv0],
      env: encodeEnv(cgiEnvironment(input)),
      stdin: input.body,
      stdoutLimit: input.limits?.stdoutBytes ?? DEFAULT_STDOUT_LIMIT,
      stderrLimit: input.limits?.stderrBytes ?? DEFAULT_STDERR_LIMIT,
      sleep: this.#sleep,
      aliases: this.#aliases,
    };
    const slot = this.mode === 'snapshot' ? this.#slot(input.env, input.deadlineMs) : undefined;
    const { wasi, code } = slot ? this.#runInSlot(slot, options, input.deadlineMs) : this.#runFresh(options, input.deadlineMs);
    const stderr = wasi.stderr.text() + (wasi.stderr.overflowed ? '\n[stderr truncated]' : '');
    if (code !== 0) throw new CommandError(`function exited with code ${code}`, stderr, code);
    if (wasi.stdout.overflowed) {
      throw new CommandError(`function response is larger than ${wasi.stdout.limit} bytes`, stderr);
    }
    let memoryPages = 0;
    try {
      memoryPages = wasi.memory.memory.buffer.byteLength / 65536;
    } catch {
      /* no memory bound: the guest never ran far enough to have one */
    }
    return { ...parseCgiResponse(wasi.stdout.bytes(), stderr), stderr, memoryPages };
  }

  #runFresh(options: Preview1Options, deadlineMs: number | undefined): { wasi: Preview1; code: number } {
    const wasi = new Preview1(options);
    try {
      const code = deadlineMs === undefined ? startFresh(this.#module, wasi) : watchdog.call(startFresh, this.#module, wasi, deadlineMs);
      return { wasi, code };
    } catch (error) {
      if (error instanceof DeadlineExceeded) throw error;
      throw trapError(error, wasi);
    }
  }

  #runInSlot(slot: Slot, options: Preview1Options, deadlineMs: number | undefined): { wasi: Preview1; code: number } {
    this.#clean(slot);
    const instance = slot.instance!;
    const wasi = slot.wasi;
    // Restored clocks start at the image's virtual offset: time never runs backwards for the guest.
    wasi.reset({ ...options, clock: new GuestClock(slot.image.clockOffsetNs) });
    slot.dirty = true;
    let code = 0; // returning from the resume (pausing again) counts as exit 0
    try {
      if (deadlineMs === undefined) resume(instance);
      else watchdog.call(resume, instance, undefined, deadlineMs);
    } catch (error) {
      if (!isProcExit(error)) {
        slot.instance = undefined; // a trapped (or stopped) instance is never reused
        if (error instanceof DeadlineExceeded) throw error;
        throw trapError(error, wasi);
      }
      code = error.code;
    }
    setImmediate(() => this.#clean(slot));
    return { wasi, code };
  }

  /** Makes the slot's instance its image again (a new instance if it has none or its memory grew). */
  #clean(slot: Slot): void {
    if (slot.instance && !slot.dirty) return;
    this.#restores++;
    if (!slot.instance || !slot.image.restore(slot.instance)) {
      slot.instance = new WebAssembly.Instance(this.#module, slot.wasi.imports);
      slot.wasi.memory.bind(slot.instance.exports.memory as WebAssembly.Memory);
      slot.image.restore(slot.instance);
    }
    slot.dirty = false;
  }

  /** The slot for a configured environment, prepared on first use; undefined if the guest declined the snapshot. */
  #slot(env: Record<string, string>, deadlineMs?: number): Slot | undefined {
    const key = JSON.stringify(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let slot = this.#slots.get(key);
    if (slot !== undefined) {
      // Most recently used last, so the first key is the one to evict.
      this.#slots.delete(key);
      this.#slots.set(key, slot);
      return slot === 'declined' ? undefined : slot;
    }
    slot = this.#prepareSnapshot(env, deadlineMs) ?? 'declined';
    this.#slots.set(key, slot);
    if (this.#slots.size > MAX_SLOTS) this.#slots.delete(this.#slots.keys().next().value!);
    return slot === 'declined' ? undefined : slot;
  }

  /** Runs the module until the SDK pauses it; undefined if it declined (that environment then runs `fresh`). */
  #prepareSnapshot(env: Record<string, string>, deadlineMs: number | undefined): Slot | undefined {
    const wasi = new Preview1({
      args: [this.#argv0],
      env: { ...env, [SNAPSHOT_MARKER]: SNAPSHOT_PREPARE },
      sleep: this.#sleep,
      aliases: this.#aliases,
    });
    const instance = new WebAssembly.Instance(this.#module, wasi.imports);
    let code: number | undefined;
    try {
      code = deadlineMs === undefined ? wasi.start(instance) : watchdog.call(startInstance, wasi, instance, deadlineMs);
    } catch (error) {
      // Stopped at the deadline: not a refusal to be snapshotted; the request fails, the next one tries again.
      if (error instanceof DeadlineExceeded) throw error;
      return undefined;
    }
    // A program that exited instead of pausing did not agree to be snapshotted.
    if (code !== undefined) return undefined;
    const image = InstanceImage.capture(instance, this.#globalCount, wasi.clock.offsetNs);
    return { image, wasi, instance, dirty: false };
  }
}

/**
 * Rejects, at construction rather than per request, a module the runner
 * cannot link or start.
 *
 * @throws MicronError `unsupported_imports` / `unsupported_exports`
 */
function checkShape(module: WebAssembly.Module, aliases: readonly [string, string][]): void {
  const provided = new Set([...PREVIEW1_FUNCTIONS, ...aliases.map(([alias]) => alias)]);
  const unsupported = WebAssembly.Module.imports(module)
    .filter((i) => !(i.module === PREVIEW1_MODULE && i.kind === 'function' && provided.has(i.name)))
    .map((i) => `${i.module}.${i.name} (${i.kind})`);
  if (unsupported.length > 0) {
    throw new MicronError('unsupported_imports', `a command may import only wasi_snapshot_preview1 functions; this one also imports ${unsupported.join(', ')}`);
  }
  const exports = WebAssembly.Module.exports(module);
  if (!exports.some((e) => e.name === '_start' && e.kind === 'function') || !exports.some((e) => e.name === 'memory' && e.kind === 'memory')) {
    throw new MicronError('unsupported_exports', 'a command must export a `_start` function and its `memory`');
  }
}

/**
 * The command module inside a `wasi:cli/run` component made with the
 * preview1 command adapter (what `micron build` makes of a Go function): the
 * core module that imports `wasi_snapshot_preview1` and exports `_start` and
 * `memory`. The host runs it with {@link CommandRunner} and leaves the
 * adapter and the component's shim modules aside. Undefined when there is none.
 */
export function findCommandModule(modules: readonly Uint8Array[]): Uint8Array | undefined {
  return modules.find((bytes) => {
    try {
      const sections = readSections(bytes);
      const payload = (id: number) => sections.find((s) => s.id === id)?.payload;
      const exportSection = payload(SectionId.export);
      const exports = exportSection ? readExports(exportSection) : [];
      return (
        exports.some((e) => e.name === '_start' && e.kind === ExternKind.func) &&
        exports.some((e) => e.name === 'memory' && e.kind === ExternKind.memory) &&
        readImportModules(payload(SectionId.import)).every((m) => m === PREVIEW1_MODULE)
      );
    } catch {
      return false;
    }
  });
}

/** `wasi.start(instance)` as a plain function, for the watchdog. */
function startInstance(wasi: Preview1, instance: WebAssembly.Instance): number | undefined {
  return wasi.start(instance);
}

/** A fresh instance of `module` run from `_start`; its exit code. */
function startFresh(module: WebAssembly.Module, wasi: Preview1): number {
  return wasi.start(new WebAssembly.Instance(module, wasi.imports)) ?? 0;
}

function trapError(error: unknown, wasi: Preview1): CommandError {
  const stderr = wasi.stderr.text();
  const detail = error instanceof Error ? error.message : String(error);
  return new CommandError(`function trapped: ${detail}`, stderr, undefined, { cause: error });
}

/**
 * The CGI environment of a request: the configured variables, then the
 * request's (which win). Request headers become HTTP_* except
 * Content-Type/Content-Length (which have their own variables), Proxy (never
 * forwarded: httpoxy) and names with `_` (they would alias a `-` name).
 */
export function cgiEnvironment(input: Pick<CommandRequest, 'method' | 'url' | 'headers' | 'body' | 'env' | 'requestId'>): [string, string][] {
  const vars = new Map<string, string>(Object.entries(input.env));
  const { url } = input;
  const entries = input.headers instanceof Headers ? [...input.headers] : input.headers;
  const joined = new Map<string, string>();
  for (const [rawName, value] of entries) {
    const name = rawName.toLowerCase();
    if (name === 'content-type' || name === 'content-length' || name === 'proxy' || name.includes('_')) continue;
    if (!TOKEN.test(name)) continue;
    const previous = joined.get(name);
    joined.set(name, previous === undefined ? value : `${previous}${name === 'cookie' ? '; ' : ', '}${value}`);
  }
  for (const [name, value] of joined) vars.set(`HTTP_${name.toUpperCase().replaceAll('-', '_')}`, value);
  const header = (name: string) =>
    input.headers instanceof Headers ? input.headers.get(name) : input.headers.find(([n]) => n.toLowerCase() === name)?.[1] ?? null;

  const https = url.protocol === 'https:';
  vars.set('GATEWAY_INTERFACE', 'CGI/1.1');
  vars.set('SERVER_SOFTWARE', 'micron');
  vars.set('SERVER_PROTOCOL', 'HTTP/1.1');
  vars.set('SERVER_NAME', url.hostname);
  vars.set('SERVER_PORT', url.port || (https ? '443' : '80'));
  vars.set('HTTPS', https ? 'on' : 'off');
  vars.set('REQUEST_METHOD', input.method.toUpperCase());
  vars.set('REQUEST_URI', url.pathname + url.search);
  vars.set('SCRIPT_NAME', '');
  vars.set('PATH_INFO', safeDecode(url.pathname));
  vars.set('QUERY_STRING', url.search.slice(1));
  vars.set('CONTENT_LENGTH', String(input.body.length));
  vars.set('CONTENT_TYPE', header('content-type') ?? '');
  vars.set('MICRON_REQUEST_ID', input.requestId);
  return [...vars];
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * Parses a command's stdout: header lines up to the first empty line (CRLF
 * or LF), then the body. Throws a {@link CommandError} when there is no
 * header block, a line is not `Name: value`, or Status is not 200-599.
 */
export function parseCgiResponse(out: Uint8Array, stderr = ''): Omit<CommandResponse, 'stderr'> {
  if (out.length === 0) throw new CommandError('function wrote no response', stderr);
  const { headerEnd, bodyStart } = findHeaderEnd(out);
  if (headerEnd < 0) throw new CommandError('function response has no blank line after its headers', stderr);
  const lines = headerEnd === 0 ? [] : latin1.decode(out.subarray(0, headerEnd)).split('\n');
  let status: number | undefined;
  let location = false;
  const headers: [string, string][] = [];
  for (let line of lines) {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) throw new CommandError(`function response has a malformed header line ${JSON.stringify(line.slice(0, 80))}`, stderr);
    const value = line.slice(colon + 1).trim();
    const lower = name.toLowerCase();
    if (lower === 'status') {
      const match = /^(\d{3})(?:\s.*)?$/.exec(value);
      const code = match ? Number(match[1]) : NaN;
      if (!(code >= 200 && code <= 599)) throw new CommandError(`function response has a bad Status ${JSON.stringify(value)}`, stderr);
      status = code;
      continue;
    }
    if (lower === 'location') location = true;
    if (HOP_BY_HOP.has(lower)) continue;
    headers.push([name, value]);
  }
  return { status: status ?? (location ? 302 : 200), headers, body: out.slice(bodyStart) };
}

function findHeaderEnd(out: Uint8Array): { headerEnd: number; bodyStart: number } {
  // A response may start with the blank line (no headers at all).
  if (out[0] === 0x0a) return { headerEnd: 0, bodyStart: 1 };
  if (out[0] === 0x0d && out[1] === 0x0a) return { headerEnd: 0, bodyStart: 2 };
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== 0x0a) continue;
    if (out[i + 1] === 0x0a) return { headerEnd: i, bodyStart: i + 2 };
    if (out[i + 1] === 0x0d && out[i + 2] === 0x0a) return { headerEnd: i, bodyStart: i + 3 };
  }
  return { headerEnd: -1, bodyStart: -1 };
}
