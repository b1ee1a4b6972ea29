// Deploy-time module rewriting with binaryen, and jco's transpile, in a
// worker thread so that neither blocks request serving (a large component's
// transpile takes the thread for a second) nor can take the host down
// (binaryen.js aborts its whole wasm instance on an internal assertion).
// Plain JavaScript: workers do not inherit the TypeScript loader. See
// host/compile/instrument.ts.
//
// The worker serves jobs until the host ends it: loading binaryen takes over
// a second, so consecutive deploys share it. Each message is one job,
// `{ id, module, asyncifyImports, importMemory, exportState }`; each answer is
// `{ id, ok: true, bytes, memory }` or `{ id, ok: false, message }` (after
// which the host ends this worker: binaryen may be left in a broken state).
import { parentPort } from 'node:worker_threads';
import binaryen from 'binaryen';

const F = binaryen.Features;
const FEATURES =
  F.MutableGlobals | F.BulkMemory | F.BulkMemoryOpt | F.SignExt | F.NontrappingFPToInt |
  F.Multivalue | F.ReferenceTypes | F.CallIndirectOverlong | F.SIMD128;

/** jco, imported on the first transpile job (about 130 ms and 26 MB). */
let jco;

/** `{ id, transpile: bytes, options }`: jco's transpile; answers `{ id, ok, files: [name, bytes][] }` or `{ id, ok: false, message, keep: true }`. */
async function transpileJob(job) {
  const { id } = job;
  try {
    const { transpile } = await (jco ??= import('@bytecodealliance/jco'));
    const out = await transpile(job.transpile, job.options);
    const files = Object.entries(out.files).map(([name, data]) => [name, typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data)]);
    parentPort.postMessage({ id, ok: true, files }, files.map(([, d]) => d.buffer));
  } catch (e) {
    // A component jco refuses is the upload's fault, not the worker's: it stays in service.
    parentPort.postMessage({ id, ok: false, keep: true, message: e instanceof Error ? e.message : String(e) });
  }
}

parentPort.on('message', (job) => {
  if (job.transpile) {
    void transpileJob(job);
    return;
  }
  const { id } = job;
  /** @type {{ module: Uint8Array, asyncifyImports: string[], importMemory: { module: string, name: string } | null, exportState: string | null }} */
  const { module, asyncifyImports, importMemory, exportState } = job;
  try {
    const m = binaryen.readBinary(module);
    m.setFeatures(FEATURES);
    let memory = null;
    if (importMemory) {
      // Turn the module's own memory into an import, keeping its limits, data
      // segments and export, so the host can hand it a recycled memory.
      for (let i = 0; i < m.getNumExports(); i++) {
        const info = binaryen.getExportInfo(m.getExportByIndex(i));
        if (info.kind === binaryen.ExternalMemory) {
          const mem = m.getMemoryInfo(info.value);
          if (!mem.module && !mem.shared && !mem.is64) {
            m.addMemoryImport(info.value, importMemory.module, importMemory.name, false);
            memory = { initial: mem.initial, maximum: mem.max ?? null };
          }
          break;
        }
      }
    }
    if (asyncifyImports.length > 0) {
      binaryen.setPassArgument('asyncify-imports', asyncifyImports.join(','));
      binaryen.setOptimizeLevel(2);
      binaryen.setShrinkLevel(1);
      m.runPasses(['asyncify']);
    }
    if (exportState) {
      // Export every defined mutable global and every defined table (after
      // Asyncify, whose own globals must be reset too), so the host can put an
      // instance back to its initial state and reuse it.
      const taken = new Set();
      for (let i = 0; i < m.getNumExports(); i++) taken.add(binaryen.getExportInfo(m.getExportByIndex(i)).value);
      for (let i = 0; i < m.getNumGlobals(); i++) {
        const g = binaryen.getGlobalInfo(m.getGlobalByIndex(i));
        if (!g.module && g.mutable) m.addGlobalExport(g.name, `${exportState}global:${i}`);
      }
      for (let i = 0; i < m.getNumTables(); i++) {
        const t = binaryen.getTableInfo(m.getTableByIndex(i));
        if (!t.module) m.addTableExport(t.name, `${exportState}table:${i}`);
      }
      void taken;
    }
    const out = m.emitBinary();
    m.dispose();
    parentPort.postMessage({ id, ok: true, bytes: out, memory }, [out.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, ok: false, message: e instanceof Error ? e.message : String(e) });
  }
});
