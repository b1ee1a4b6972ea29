import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { INSTRUMENT_IDLE_MS, instrument, instrumentWorkerState, POOL_MEMORY_IMPORT, setInstrumentWorkerIdleMs, transpileInWorker } from './instrument.js';

// (module (type (func)) (func (type 0)) (memory 1) (global (mut i32) (i32.const 0))
//   (export "memory" (memory 0)) (export "f" (func 0)))
const MODULE = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
  0x03, 0x02, 0x01, 0x00,
  0x05, 0x03, 0x01, 0x00, 0x01,
  0x06, 0x06, 0x01, 0x7f, 0x01, 0x41, 0x00, 0x0b,
  0x07, 0x0e, 0x02, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x01, 0x66, 0x00, 0x00,
  0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,
]);
// A module header followed by a section binaryen cannot read.
const BROKEN = Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0xff, 0xff, 0xff]);

const OPTS = { asyncifyImports: [], importMemory: true, exportState: true };

/** The instrumented module imports its memory from the pool and exports its mutable global. */
function checkInstrumented(out: Uint8Array): void {
  // instrument() gives a fresh copy of the worker's output: a plain ArrayBuffer.
  const bytes = out as Uint8Array<ArrayBuffer>;
  expect(WebAssembly.validate(bytes)).toBe(true);
  const m = new WebAssembly.Module(bytes);
  expect(WebAssembly.Module.imports(m)).toContainEqual({ module: POOL_MEMORY_IMPORT.module, name: POOL_MEMORY_IMPORT.name, kind: 'memory' });
  expect(WebAssembly.Module.exports(m).map((e) => e.name)).toContain('micron:state:global:0');
}

describe('instrument (binaryen in a shared worker)', () => {
  afterAll(() => setInstrumentWorkerIdleMs(INSTRUMENT_IDLE_MS));

  it('runs consecutive jobs on one worker', async () => {
    expect(WebAssembly.validate(MODULE)).toBe(true);
    const before = instrumentWorkerState().started;
    const a = await instrument(MODULE, OPTS);
    const b = await instrument(MODULE, OPTS);
    checkInstrumented(a.bytes);
    checkInstrumented(b.bytes);
    expect(a.memory).toEqual({ initial: 1, maximum: null });
    expect(instrumentWorkerState().started - before).toBeLessThanOrEqual(1);
    expect(instrumentWorkerState().running).toBe(true);
  });

  it('ends the worker after a failed job and runs the next one on a new worker', async () => {
    await instrument(MODULE, OPTS);
    const before = instrumentWorkerState().started;
    await expect(instrument(BROKEN, OPTS)).rejects.toThrow();
    expect(instrumentWorkerState().running).toBe(false);
    checkInstrumented((await instrument(MODULE, OPTS)).bytes);
    expect(instrumentWorkerState().started).toBe(before + 1);
  });

  it('moves the jobs queued behind a failed one to a new worker', async () => {
    const results = await Promise.allSettled([instrument(BROKEN, OPTS), instrument(MODULE, OPTS), instrument(MODULE, OPTS)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    for (const r of results) if (r.status === 'fulfilled') checkInstrumented(r.value.bytes);
  });

  it('ends an idle worker', async () => {
    setInstrumentWorkerIdleMs(50);
    await instrument(MODULE, OPTS);
    expect(instrumentWorkerState().running).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(instrumentWorkerState().running).toBe(false);
    checkInstrumented((await instrument(MODULE, OPTS)).bytes);
  });
});

describe('transpileInWorker (jco on the deploy worker, off the serving thread)', () => {
  const HELLO = new Uint8Array(readFileSync(new URL('../../components/hello/hello.wasm', import.meta.url)));
  const OPTIONS = { instantiation: 'sync', noTypescript: true, name: 'component', base64Cutoff: 0 };

  it("returns jco's files, and a component jco refuses rejects with its message without ending the worker", async () => {
    const files = await transpileInWorker(HELLO, OPTIONS);
    expect(new TextDecoder().decode(files.get('component.js'))).toContain('export function instantiate');
    const started = instrumentWorkerState().started;
    await expect(transpileInWorker(HELLO.subarray(0, 40), OPTIONS)).rejects.toThrow(/\S/);
    expect(instrumentWorkerState()).toEqual({ started, running: true });
    // The same worker still transpiles.
    expect((await transpileInWorker(HELLO, OPTIONS)).has('component.js')).toBe(true);
    expect(instrumentWorkerState().started).toBe(started);
  });
});
