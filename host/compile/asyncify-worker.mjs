// Runs binaryen's Asyncify pass in a worker thread, so deploy-time
// instrumentation neither blocks request serving nor can take the host down
// (binaryen.js aborts its whole wasm instance on an internal assertion).
// Plain JavaScript: workers do not inherit the TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import binaryen from 'binaryen';

const F = binaryen.Features;
const FEATURES =
  F.MutableGlobals | F.BulkMemory | F.BulkMemoryOpt | F.SignExt | F.NontrappingFPToInt |
  F.Multivalue | F.ReferenceTypes | F.CallIndirectOverlong | F.SIMD128;

/** @type {{ module: Uint8Array, imports: string[] }} */
const { module, imports } = workerData;
try {
  const m = binaryen.readBinary(module);
  m.setFeatures(FEATURES);
  binaryen.setPassArgument('asyncify-imports', imports.join(','));
  binaryen.setOptimizeLevel(2);
  binaryen.setShrinkLevel(1);
  m.runPasses(['asyncify']);
  const out = m.emitBinary();
  m.dispose();
  parentPort.postMessage({ ok: true, bytes: out }, [out.buffer]);
} catch (e) {
  parentPort.postMessage({ ok: false, message: e instanceof Error ? e.message : String(e) });
}
