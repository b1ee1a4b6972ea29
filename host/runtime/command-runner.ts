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
 * How each request gets its instance ({@link CommandMode}):
 *
 * - `snapshot`: a Go module built with the SDK's `micron_snapshot` tag (what
 *   `micron build` does) is run once per configured environment until it
 *   pauses in `micron.Serve`; that state is captured, and the environment's
 *   instances are written back to it (memory and globals) before each
 *   request, so every request starts from exactly the paused state with
 *   runtime and package init already done. See
 *   host/wasi/preview1/command-snapshot.ts for why that is sound for Go. The
 *   write-back runs in a `setImmediate` after each request, off the next
 *   request's latency when the host has a moment. Each environment keeps a
 *   small pool of instances (at most {@link CommandRunnerOptions.maxInstances}
 *   alive, each with its own preview1 state), so that requests paused for
 *   outbound HTTP do not hold up the others.
 * - `fresh`: a new `WebAssembly.Instance` and `_start` per request: any other
 *   command, a snapshot the SDK declined, or `mode: 'fresh'`.
 *
 * Outbound HTTP (micron:http/outbound, host/wasi/micron-http/outbound.ts):
 * the guest starts a request and pauses; {@link CommandRunner.run} awaits
 * the response, then resumes the same instance, in a loop, every entry into
 * the guest under the watchdog and every wait bounded by the same deadline.
 * An instance that trapped, was stopped, or was abandoned while paused is
 * never used again. {@link CommandRunner.runSync} cannot wait: there the
 * guest's requests fail at once.
 */
import { MicronError } from '../errors.js';
import { InstanceImage, pausableModule, resume, SNAPSHOT_MARKER, SNAPSHOT_PREPARE } from '../wasi/preview1/command-snapshot.js';
import type { PausableModule } from '../wasi/preview1/command-snapshot.js';
import { ExternKind, readExports, readImports, readSections, SectionId } from '../wasi/preview1/core-module.js';
import {
  DEFAULT_STDERR_LIMIT,
  DEFAULT_STDOUT_LIMIT,
  encodeEnv,
  importAliases,
  Preview1,
  PREVIEW1_FUNCTIONS,
  PREVIEW1_MODULE,
} from '../wasi/preview1/preview1.js';
import type { Preview1Options } from '../wasi/preview1/preview1.js';
import { GuestClock } from '../wasi/preview1/guest-clock.js';
import { GuestMemory } from '../wasi/preview1/guest-memory.js';
import { isProcExit } from '../wasi/preview1/proc.js';
import type { SleepPolicy } from '../wasi/preview1/poll.js';
import { DENY_ALL, Outbound, OUTBOUND_MODULE } from '../wasi/micron-http/outbound.js';
import type { OutboundPolicy, OutboundRun } from '../wasi/micron-http/outbound.js';
import { DeadlineExceeded, watchdog } from './watchdog/index.js';
import { latin1String } from '../wasi/http/fields.js';

export type { OutboundPolicy };

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
   * How long the guest may take, ms: running and waiting for outbound
   * responses alike. A guest still running then is stopped, even in a loop
   * that never yields; one still waiting is abandoned; either way `run`
   * rejects with `DeadlineExceeded`. Default: no deadline.
   */
  deadlineMs?: number;
  /**
   * What the guest may reach with outbound HTTP (micron:http/outbound): the
   * function's allowedHosts and limits. Default: nothing (every request is
   * denied).
   */
  outbound?: OutboundPolicy;
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
  /** How many times the guest paused for outbound responses. */
  suspensions?: number;
}

/** How requests get an instance (see the module comment). */
export type CommandMode = 'snapshot' | 'fresh';

/** Options for {@link CommandRunner}. */
export interface CommandRunnerOptions {
  /**
   * The module's bytes. Needed for `snapshot` and for outbound HTTP (the
   * module is rewritten to export its globals and its resume entry point);
   * without them every request is `fresh` and cannot pause.
   */
  source?: Uint8Array;
  /** `fresh` forces a new instance per request; `auto` (default) picks the fastest mode that is sound. */
  mode?: 'auto' | 'fresh';
  /** How guest sleeps are carried out (default `virtual`; see host/wasi/preview1/poll.ts). */
  sleep?: SleepPolicy;
  /** argv[0] the guest sees (default `function.wasm`). */
  argv0?: string;
  /**
   * Most instances of one configured environment's snapshot alive at once
   * (running, paused for outbound responses, or idle); a request that finds
   * them all busy waits for one, within its deadline. Default 16.
   */
  maxInstances?: number;
  /**
   * `module` was compiled from this rewrite of `source` already (what
   * {@link CommandRunner.compile} passes), so it is not rewritten and
   * compiled a second time.
   */
  compiledFrom?: PausableModule;
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

/** An instance with its own preview1 and outbound state, and what it is doing. */
interface Lease {
  instance: WebAssembly.Instance | undefined;
  readonly wasi: Preview1;
  readonly outbound: Outbound;
  readonly imports: WebAssembly.Imports;
  /** The snapshot slot it belongs to; undefined for a `fresh` instance, used once. */
  readonly slot: Slot | undefined;
  /** True when it ran since it was last restored. */
  dirty: boolean;
  /** True while a request holds it. */
  busy: boolean;
  /** It trapped or was stopped mid-request: never used again. */
  broken: boolean;
  /** Made beyond the slot's cap for a synchronous run: dropped afterwards. */
  extra: boolean;
}

/** One configured environment's snapshot: its image and its instances. */
interface Slot {
  readonly image: InstanceImage;
  /** Instances no request holds (clean, or waiting for their write-back), most recently used last. */
  readonly idle: Lease[];
  /** Instances held by requests (paused ones included), extra ones not counted. */
  busy: number;
  /** Requests waiting for an instance while `busy` is at the cap. */
  readonly waiting: (() => void)[];
}

const MAX_SLOTS = 8;
/** Idle instances kept per slot after a burst; more are dropped when released. */
const MAX_IDLE = 4;
const DEFAULT_MAX_INSTANCES = 16;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** The names of micron:http/outbound's functions. */
const OUTBOUND_FUNCTIONS: readonly string[] = Object.keys(new Outbound(new GuestMemory()).imports);

/** Why a run cannot wait for outbound responses. */
const CANNOT_WAIT = {
  prepare: 'before micron.Serve: initialisation runs once, for the snapshot every request starts from',
  sync: 'in a synchronous run (CommandRunner.runSync)',
  fresh: 'to this module: the host can pause and resume only Go wasip1 programs',
} as const;

/**
 * Runs one compiled command module, one request per instance at a time,
 * with a fresh guest state every time. A guest paused for outbound HTTP
 * keeps its instance while the host waits; other requests run meanwhile.
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
  /** The module exports the resume entry point: a paused guest can be continued. */
  readonly #resumable: boolean;
  readonly #sleep: SleepPolicy;
  readonly #argv0: string;
  readonly #aliases: [string, string][];
  readonly #maxInstances: number;
  readonly #slots = new Map<string, Slot | 'declined'>();
  #restores = 0;

  /**
   * @param module - a compiled wasip1 command (used as is without `source`)
   * @param options - pass `source` to enable snapshots and outbound HTTP
   */
  constructor(module: WebAssembly.Module, options: CommandRunnerOptions = {}) {
    const pausable = options.compiledFrom ?? (options.source ? pausableModule(options.source) : undefined);
    this.#module = pausable && !options.compiledFrom ? new WebAssembly.Module(pausable.bytes) : module;
    this.#resumable = pausable !== undefined;
    this.#globalCount = pausable?.globalCount ?? 0;
    this.mode = pausable?.snapshot && options.mode !== 'fresh' ? 'snapshot' : 'fresh';
    this.#sleep = options.sleep ?? 'virtual';
    this.#argv0 = options.argv0 ?? 'function.wasm';
    this.#maxInstances = Math.max(1, options.maxInstances ?? DEFAULT_MAX_INSTANCES);
    this.#aliases = importAliases(this.#module);
    checkShape(this.#module, this.#aliases);
  }

  /** Compiles `bytes` (rewritten for snapshots and resumption where the module allows it) and returns a runner. */
  static async compile(bytes: Uint8Array, options: Omit<CommandRunnerOptions, 'source' | 'compiledFrom'> = {}): Promise<CommandRunner> {
    const pausable = pausableModule(bytes);
    const module = await WebAssembly.compile((pausable?.bytes ?? bytes) as Uint8Array<ArrayBuffer>);
    return new CommandRunner(module, { ...options, ...(pausable ? { compiledFrom: pausable } : {}) });
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

  /**
   * Runs one request. While the guest waits for outbound responses it is
   * paused and this thread serves others; each entry into the guest runs
   * under the watchdog, and the waits are bounded by the same deadline.
   * Rejects with a {@link CommandError} when the guest fails, and with
   * `DeadlineExceeded` past the deadline.
   */
  async run(input: CommandRequest): Promise<CommandResponse> {
    const deadlineAt = input.deadlineMs === undefined ? Infinity : performance.now() + input.deadlineMs;
    const slot = this.mode === 'snapshot' ? this.#slot(input.env, input.deadlineMs) : undefined;
    const lease = slot ? (this.#idle(slot) ?? (await this.#waitForInstance(slot, deadlineAt))) : this.#fresh();
    try {
      this.#begin(lease, input, this.#resumable ? undefined : CANNOT_WAIT.fresh);
      let code = this.#enter(lease, deadlineAt);
      let suspensions = 0;
      while (code === undefined && lease.outbound.pending > 0) {
        suspensions++;
        await this.#waitForOutbound(lease, deadlineAt);
        code = this.#enter(lease, deadlineAt);
      }
      return { ...this.#response(lease.wasi, code ?? 0), suspensions };
    } finally {
      this.#release(lease);
    }
  }

  /**
   * {@link CommandRunner.run}, synchronously, for callers that cannot wait:
   * the guest's outbound requests fail at once (`unavailable`).
   */
  runSync(input: CommandRequest): CommandResponse {
    const deadlineAt = input.deadlineMs === undefined ? Infinity : performance.now() + input.deadlineMs;
    const slot = this.mode === 'snapshot' ? this.#slot(input.env, input.deadlineMs) : undefined;
    const lease = slot ? (this.#idle(slot) ?? this.#extra(slot)) : this.#fresh();
    try {
      this.#begin(lease, input, CANNOT_WAIT.sync);
      return this.#response(lease.wasi, this.#enter(lease, deadlineAt) ?? 0);
    } finally {
      this.#release(lease);
    }
  }

  /** Points the lease's preview1 and outbound state at this request. */
  #begin(lease: Lease, input: CommandRequest, cannotWait: string | undefined): void {
    const options: Preview1Options = {
      args: [this.#argv0],
      env: encodeEnv(cgiEnvironment(input)),
      stdin: input.body,
      stdoutLimit: input.limits?.stdoutBytes ?? DEFAULT_STDOUT_LIMIT,
      stderrLimit: input.limits?.stderrBytes ?? DEFAULT_STDERR_LIMIT,
      sleep: this.#sleep,
      aliases: this.#aliases,
    };
    // Restored clocks start at the image's virtual offset: time never runs backwards for the guest.
    if (lease.slot) options.clock = new GuestClock(lease.slot.image.clockOffsetNs);
    lease.wasi.reset(options);
    const run: OutboundRun = { policy: input.outbound ?? DENY_ALL, ...(cannotWait !== undefined ? { unavailable: cannotWait } : {}) };
    lease.outbound.begin(run);
  }

  /**
   * Enters the guest: `_start` for a fresh instance, else the resume entry
   * point (a restored snapshot, or a guest paused for outbound HTTP). Returns
   * the exit code, or undefined when the guest returned or paused. A trap or
   * the deadline marks the lease broken.
   */
  #enter(lease: Lease, deadlineAt: number): number | undefined {
    lease.dirty = true;
    try {
      // A fresh instance is made under the deadline too: a module's start function is guest code.
      const entry = lease.instance === undefined ? startFresh : resumeLease;
      if (deadlineAt === Infinity) entry(this.#module, lease);
      else {
        const left = deadlineAt - performance.now();
        if (left <= 0) throw new DeadlineExceeded();
        watchdog.call(entry, this.#module, lease, left);
      }
      return undefined;
    } catch (error) {
      if (isProcExit(error)) return error.code;
      lease.broken = true; // a trapped (or stopped) instance is never reused
      if (error instanceof DeadlineExceeded) throw error;
      throw trapError(error, lease.wasi);
    }
  }

  /** Waits until one of the guest's outbound requests settles, or rejects with DeadlineExceeded at the deadline. */
  async #waitForOutbound(lease: Lease, deadlineAt: number): Promise<void> {
    const settled = lease.outbound.whenSettled();
    if (deadlineAt === Infinity) return settled;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, deadlineAt - performance.now()), true);
    });
    try {
      if (await Promise.race([settled.then(() => false), expired])) {
        lease.broken = true; // paused mid-request: never resumed, never reused
        throw new DeadlineExceeded('the function was still waiting for an outbound HTTP response at its deadline');
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads the run's outcome from the lease's preview1 state. */
  #response(wasi: Preview1, code: number): CommandResponse {
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

  /** A new lease: an instance-to-be with its own preview1 and outbound state. */
  #lease(slot: Slot | undefined, wasi: Preview1, extra = false): Lease {
    const outbound = new Outbound(wasi.memory);
    const imports = { ...wasi.imports, [OUTBOUND_MODULE]: outbound.imports };
    return { instance: undefined, wasi, outbound, imports, slot, dirty: false, busy: true, broken: false, extra };
  }

  /** A lease for a `fresh` run: a new instance, started from `_start`, used once. */
  #fresh(): Lease {
    return this.#lease(undefined, new Preview1({ args: [this.#argv0], env: {}, sleep: this.#sleep, aliases: this.#aliases }));
  }

  /** A clean idle instance of the slot, taken; undefined when none is idle and the slot is at its cap. */
  #idle(slot: Slot): Lease | undefined {
    let lease: Lease | undefined;
    // Prefer one whose write-back already ran.
    for (let i = slot.idle.length - 1; i >= 0; i--) {
      if (!slot.idle[i]!.dirty) {
        lease = slot.idle.splice(i, 1)[0];
        break;
      }
    }
    lease ??= slot.idle.pop();
    if (!lease) {
      if (slot.busy >= this.#maxInstances) return undefined;
      lease = this.#lease(slot, this.#slotPreview1());
      lease.dirty = true;
    }
    this.#clean(lease); // if this throws (out of memory), the lease is simply dropped
    slot.busy++;
    lease.busy = true;
    return lease;
  }

  /** An instance beyond the slot's cap, for a synchronous run that cannot wait; dropped afterwards. */
  #extra(slot: Slot): Lease {
    const lease = this.#lease(slot, this.#slotPreview1(), true);
    lease.dirty = true;
    this.#clean(lease);
    return lease;
  }

  /** Waits for an instance of the slot to be released, within the deadline. */
  async #waitForInstance(slot: Slot, deadlineAt: number): Promise<Lease> {
    for (;;) {
      const left = deadlineAt - performance.now();
      if (left <= 0) throw new DeadlineExceeded('the function had no free instance before its deadline (all were waiting for outbound HTTP)');
      let timer: NodeJS.Timeout | undefined;
      let wake!: () => void;
      const released = new Promise<void>((resolve) => {
        wake = resolve;
        slot.waiting.push(resolve);
        if (left !== Infinity) timer = setTimeout(resolve, left);
      });
      await released;
      clearTimeout(timer);
      const index = slot.waiting.indexOf(wake);
      if (index >= 0) slot.waiting.splice(index, 1);
      const lease = this.#idle(slot);
      if (lease) return lease;
    }
  }

  /** The request is done with the lease: its outbound requests stop, and a healthy slot instance goes back to the pool. */
  #release(lease: Lease): void {
    lease.outbound.end();
    lease.busy = false;
    const slot = lease.slot;
    if (!slot || lease.extra) return;
    slot.busy--;
    if (!lease.broken && slot.idle.length < MAX_IDLE) {
      slot.idle.push(lease);
      // The write-back runs when the host has a moment, off the next request's path.
      setImmediate(() => {
        if (!lease.busy) this.#clean(lease);
      });
    }
    slot.waiting.shift()?.();
  }

  /** Makes the lease's instance its slot's image again (a new instance if it has none or its memory grew). */
  #clean(lease: Lease): void {
    const slot = lease.slot;
    if (!slot || !lease.dirty) return;
    this.#restores++;
    if (!lease.instance || !slot.image.restore(lease.instance)) {
      lease.instance = new WebAssembly.Instance(this.#module, lease.imports);
      lease.wasi.memory.bind(lease.instance.exports.memory as WebAssembly.Memory);
      slot.image.restore(lease.instance);
    }
    lease.dirty = false;
  }

  /** A preview1 state for a slot instance (`#begin` fills it in per request). */
  #slotPreview1(): Preview1 {
    return new Preview1({ args: [this.#argv0], env: {}, sleep: this.#sleep, aliases: this.#aliases });
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
    const lease = this.#lease(undefined, wasi);
    lease.outbound.begin({ policy: DENY_ALL, unavailable: CANNOT_WAIT.prepare });
    const instance = new WebAssembly.Instance(this.#module, lease.imports);
    let code: number | undefined;
    try {
      code = deadlineMs === undefined ? wasi.start(instance) : watchdog.call(startInstance, wasi, instance, deadlineMs);
    } catch (error) {
      // Stopped at the deadline: not a refusal to be snapshotted; the request fails, the next one tries again.
      if (error instanceof DeadlineExceeded) throw error;
      return undefined;
    } finally {
      lease.outbound.end();
    }
    // A program that exited instead of pausing did not agree to be snapshotted.
    if (code !== undefined) return undefined;
    const image = InstanceImage.capture(instance, this.#globalCount, wasi.clock.offsetNs);
    const slot: Slot = { image, idle: [], busy: 0, waiting: [] };
    // The prepared instance is the image: the slot's first idle instance, clean.
    slot.idle.push({ ...lease, instance, slot, dirty: false, busy: false });
    return slot;
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
  const outbound = new Set(OUTBOUND_FUNCTIONS);
  const linkable = (i: WebAssembly.ModuleImportDescriptor): boolean =>
    i.kind === 'function' && ((i.module === PREVIEW1_MODULE && provided.has(i.name)) || (i.module === OUTBOUND_MODULE && outbound.has(i.name)));
  const unsupported = WebAssembly.Module.imports(module)
    .filter((i) => !linkable(i))
    .map((i) => `${i.module}.${i.name} (${i.kind})`);
  if (unsupported.length > 0) {
    throw new MicronError(
      'unsupported_imports',
      `a command may import only ${PREVIEW1_MODULE} and ${OUTBOUND_MODULE} functions; this one also imports ${unsupported.join(', ')}`,
    );
  }
  const exports = WebAssembly.Module.exports(module);
  if (!exports.some((e) => e.name === '_start' && e.kind === 'function') || !exports.some((e) => e.name === 'memory' && e.kind === 'memory')) {
    throw new MicronError('unsupported_exports', 'a command must export a `_start` function and its `memory`');
  }
}

/**
 * The command module inside a `wasi:cli/run` component made with the
 * preview1 command adapter (what `micron build` makes of a Go function): the
 * core module that exports `_start` and `memory` and imports
 * `wasi_snapshot_preview1`. The host runs it with {@link CommandRunner} and
 * leaves the adapter and the component's shim modules aside; the runner
 * checks, at deploy, that it imports nothing else than preview1 and
 * `micron:http/outbound` (`unsupported_imports` otherwise). Undefined when
 * there is no such module.
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
        readImports(payload(SectionId.import)).some((i) => i.module === PREVIEW1_MODULE)
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

/** Instantiates the lease's instance, binds its memory and calls `_start` (proc_exit propagates). */
function startFresh(module: WebAssembly.Module, lease: Lease): void {
  const instance = new WebAssembly.Instance(module, lease.imports);
  lease.wasi.memory.bind(instance.exports.memory as WebAssembly.Memory);
  lease.instance = instance;
  (instance.exports._start as () => void)();
}

/** Resumes the lease's paused instance (proc_exit propagates). */
function resumeLease(_module: WebAssembly.Module, lease: Lease): void {
  resume(lease.instance!);
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
  let entries: Iterable<[string, string]>;
  if (input.headers instanceof Headers) {
    const pairs: [string, string][] = [];
    input.headers.forEach((v, k) => pairs.push([k, v]));
    entries = pairs;
  } else {
    entries = input.headers;
  }
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
  const lines = headerEnd === 0 ? [] : latin1String(out.subarray(0, headerEnd)).split('\n');
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
