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
 * Rewrites `module`: makes calls to `asyncifyImports` (as `module.field`)
 * suspendable and, when `importMemory`, turns its memory into an import.
 * Runs in a worker thread.
 */
export function instrument(
  module: Uint8Array,
  opts: { asyncifyImports: readonly string[]; importMemory: boolean; exportState?: boolean },
): Promise<Instrumented> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, {
      workerData: {
        module: withoutNameSection(module),
        asyncifyImports: [...opts.asyncifyImports],
        importMemory: opts.importMemory ? POOL_MEMORY_IMPORT : null,
        exportState: opts.exportState ? STATE_EXPORT_PREFIX : null,
      },
    });
    type Reply = { ok: true; bytes: Uint8Array; memory: Instrumented['memory'] } | { ok: false; message: string };
    worker.once('message', (m: Reply) => {
      void worker.terminate();
      if (m.ok) resolve({ bytes: new Uint8Array(m.bytes), memory: m.memory });
      else reject(new Error(m.message));
    });
    worker.once('error', (e) => reject(e));
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the instrumenting worker exited with code ${code}`));
    });
  });
}

/**
 * Drops the `name` custom section: binaryen warns (on stdout) about name
 * subsections it does not know, and the instrumented module is only run, not
 * debugged by name.
 */
function withoutNameSection(bytes: Uint8Array): Uint8Array {
  return writeSections(readSections(bytes).filter((s) => s.id !== 0 || customSectionName(s.payload) !== 'name'));
}
