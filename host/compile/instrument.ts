/**
 * Deploy-time rewriting of a component's per-request core module, done once
 * so that every request is cheaper:
 *
 * - **Suspension.** Binaryen's Asyncify pass lets a call to one of the listed
 *   (blocking) imports unwind the wasm stack into linear memory and later
 *   rewind it, so a guest can wait for I/O or time without blocking the event
 *   loop. Only those imports are suspension points; a guest that never waits
 *   pays one global check after each instrumented call.
 * - **Pooled memory.** The module's own memory becomes an import
 *   (`micron:pool/memory`) with the same limits and data segments. The host
 *   then hands each instance a recycled, zeroed memory instead of having V8
 *   reserve a fresh 10 GB region per request (see docs/adr/001-instantiation.md).
 * - **Exported state.** Mutable globals and tables are exported under
 *   `micron:state:` names, so that a finished instance can be reset to its
 *   initial state (memory image, globals, table entries) and reused: the
 *   next request sees exactly what a fresh instance would.
 */
import { Worker } from 'node:worker_threads';
import { customSectionName, readSections, writeSections } from '../wasi/preview1/core-module.js';

/** Exports Asyncify adds; the runtime drives suspension through them. */
export const ASYNCIFY_EXPORTS = [
  'asyncify_start_unwind',
  'asyncify_stop_unwind',
  'asyncify_start_rewind',
  'asyncify_stop_rewind',
  'asyncify_get_state',
] as const;

/** Prefix of the exports that expose an instrumented module's mutable globals and tables. */
export const STATE_EXPORT_PREFIX = 'micron:state:';

/** Where an instrumented module imports its memory from. */
export const POOL_MEMORY_IMPORT = { module: 'micron:pool', name: 'memory' } as const;

/** What {@link instrument} produced. */
export interface Instrumented {
  bytes: Uint8Array;
  /** Limits of the memory that became an import (pages), or null when the module kept its own. */
  memory: { initial: number; maximum: number | null } | null;
}

const WORKER = new URL('./instrument-worker.mjs', import.meta.url);

/**
 * An idle instrumenting worker is ended after this long, ms. Loading
 * binaryen takes over a second, so deploys that come together share one
 * worker (the examples at a first start went from 1–2.6 s to a fraction of
 * that each); ended, it gives its memory back.
 */
export const INSTRUMENT_IDLE_MS = 10_000;
let idleMs = INSTRUMENT_IDLE_MS;

type Answer =
  | { id: number; ok: true; bytes: Uint8Array; memory: Instrumented['memory'] }
  | { id: number; ok: true; files: [string, Uint8Array][] }
  | { id: number; ok: false; message: string; keep?: boolean };
interface Job {
  /** What the worker is sent (kept to send it again if its worker is retired first). */
  message: { id: number } & Record<string, unknown>;
  resolve(r: Answer & { ok: true }): void;
  reject(e: Error): void;
}
/** The running worker and its unanswered jobs. */
interface Running {
  worker: Worker;
  jobs: Map<number, Job>;
}

let current: Running | undefined;
let nextId = 1;
let idleTimer: NodeJS.Timeout | undefined;
let started = 0;

/**
 * Rewrites `module`: makes calls to `asyncifyImports` (as `module.field`)
 * suspendable and, when `importMemory`, turns its memory into an import.
 * Runs in a worker thread, shared by consecutive calls; a job that fails
 * ends its worker (binaryen may be broken after an internal abort), and the
 * jobs still queued on it, like the next ones, run on a new worker.
 */
export function instrument(
  module: Uint8Array,
  opts: { asyncifyImports: readonly string[]; importMemory: boolean; exportState?: boolean },
): Promise<Instrumented> {
  const message = {
    id: nextId++,
    module: withoutNameSection(module),
    asyncifyImports: [...opts.asyncifyImports],
    importMemory: opts.importMemory ? POOL_MEMORY_IMPORT : null,
    exportState: opts.exportState ? STATE_EXPORT_PREFIX : null,
  };
  return new Promise((resolve, reject) =>
    submit({ message, resolve: (a) => ('bytes' in a ? resolve({ bytes: new Uint8Array(a.bytes), memory: a.memory }) : reject(new Error('unexpected answer'))), reject }),
  );
}

/**
 * jco's `transpile` of `component` with `options`, run on the same worker
 * (jco's bindgen is wasm doing seconds of synchronous work for a large
 * component: on the main thread it stalled every tenant's requests). Rejects
 * with jco's message when it refuses the component; the worker stays up.
 */
export function transpileInWorker(component: Uint8Array, options: Record<string, unknown>): Promise<Map<string, Uint8Array>> {
  const message = { id: nextId++, transpile: component, options };
  return new Promise((resolve, reject) =>
    submit({ message, resolve: (a) => ('files' in a ? resolve(new Map(a.files.map(([n, d]) => [n, new Uint8Array(d)]))) : reject(new Error('unexpected answer'))), reject }),
  );
}

/** Sends `job` to the running worker, starting one if needed. */
function submit(job: Job): void {
  const r = current ?? start();
  clearTimeout(idleTimer);
  // Keeps the process alive while a job runs; an idle worker does not.
  r.worker.ref();
  r.jobs.set(job.message.id, job);
  r.worker.postMessage(job.message);
}

/** Workers started so far and whether one is running (tests). */
export function instrumentWorkerState(): { started: number; running: boolean } {
  return { started, running: current !== undefined };
}

/** Sets how long an idle instrumenting worker is kept, ms (tests; embedders that deploy in bursts). */
export function setInstrumentWorkerIdleMs(ms: number): void {
  if (!(ms >= 0)) throw new RangeError(`idle time must be ms >= 0, got ${ms}`);
  idleMs = ms;
  // An idle worker's timer is restarted with the new time.
  if (current && current.jobs.size === 0) {
    clearTimeout(idleTimer);
    idle(current);
  }
}

function start(): Running {
  const r: Running = { worker: new Worker(WORKER), jobs: new Map() };
  current = r;
  started++;
  r.worker.on('message', (a: Answer) => {
    const job = r.jobs.get(a.id);
    if (!job) return;
    r.jobs.delete(a.id);
    if (a.ok || a.keep) {
      if (a.ok) job.resolve(a);
      else job.reject(new Error(a.message));
      if (r.jobs.size === 0 && current === r) idle(r);
      return;
    }
    job.reject(new Error(a.message));
    // binaryen may be broken after a failure: end this worker, and run what it still had on a new one.
    const rest = [...r.jobs.values()];
    r.jobs.clear();
    retire(r);
    for (const j of rest) submit(j);
  });
  const gone = (why: Error): void => {
    detach(r);
    for (const job of r.jobs.values()) job.reject(why);
    r.jobs.clear();
  };
  r.worker.once('error', gone);
  r.worker.once('exit', (code) => gone(new Error(`the instrumenting worker exited with code ${code}`)));
  return r;
}

/** Takes `r` out of service: later jobs start a new worker. */
function detach(r: Running): void {
  if (current === r) {
    current = undefined;
    clearTimeout(idleTimer);
  }
}

/** Ends `r` (its jobs have been answered or moved). */
function retire(r: Running): void {
  detach(r);
  void r.worker.terminate();
}

/** No job left: let the process exit without the worker, and end it once it has been idle long enough. */
function idle(r: Running): void {
  r.worker.unref();
  idleTimer = setTimeout(() => {
    if (current === r && r.jobs.size === 0) retire(r);
  }, idleMs);
  idleTimer.unref();
}

/**
 * Drops the `name` custom section: binaryen warns (on stdout) about name
 * subsections it does not know, and the instrumented module is only run, not
 * debugged by name.
 */
function withoutNameSection(bytes: Uint8Array): Uint8Array {
  return writeSections(readSections(bytes).filter((s) => s.id !== 0 || customSectionName(s.payload) !== 'name'));
}
