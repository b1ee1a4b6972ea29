/**
 * Deploy-time instrumentation that lets a guest wait for I/O without blocking
 * the event loop. Binaryen's Asyncify pass rewrites a core module so that a
 * call to one of the listed imports can unwind the wasm stack into linear
 * memory and later rewind it. Only the listed (blocking) imports are treated
 * as suspension points, so code paths that never block keep their speed; a
 * guest that never waits pays one global check after each instrumented call.
 */
import { Worker } from 'node:worker_threads';

/** Exports Asyncify adds; the runtime drives suspension through them. */
export const ASYNCIFY_EXPORTS = [
  'asyncify_start_unwind',
  'asyncify_stop_unwind',
  'asyncify_start_rewind',
  'asyncify_stop_rewind',
  'asyncify_get_state',
] as const;

const WORKER = new URL('./asyncify-worker.mjs', import.meta.url);

/**
 * Instruments `module` so that calls to `imports` (as `module.field`) can
 * suspend. Returns the new module bytes. Runs in a worker thread.
 */
export function asyncify(module: Uint8Array, imports: readonly string[]): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: { module: withoutNameSection(module), imports: [...imports] } });
    worker.once('message', (m: { ok: true; bytes: Uint8Array } | { ok: false; message: string }) => {
      void worker.terminate();
      if (m.ok) resolve(new Uint8Array(m.bytes));
      else reject(new Error(`instrumenting the module failed: ${m.message}`));
    });
    worker.once('error', (e) => reject(new Error(`instrumenting the module failed: ${e.message}`)));
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`instrumenting the module failed (worker exit ${code})`));
    });
  });
}

/**
 * Drops the `name` custom section: binaryen warns (on stdout) about name
 * subsections it does not know, and the instrumented module is only run, not
 * debugged by name.
 */
function withoutNameSection(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let pos = 8;
  const u32 = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[pos++]!;
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  };
  while (pos < bytes.length) {
    const start = pos;
    const id = bytes[pos++]!;
    const size = u32();
    const end = pos + size;
    let keep = true;
    if (id === 0) {
      const nameStart = pos;
      const len = u32();
      const name = new TextDecoder().decode(bytes.subarray(pos, pos + len));
      pos = nameStart;
      keep = name !== 'name';
    }
    if (keep) parts.push(bytes.subarray(start, end));
    pos = end;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
