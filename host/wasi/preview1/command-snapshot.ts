/**
 * Snapshots of a paused preview1 command (Wizer's idea, done at run time).
 *
 * A Go guest built with Micron's SDK and the `micron_snapshot` tag pauses
 * itself inside `micron.Serve` when the host prepares it: the SDK sets Go's
 * PAUSE register and unwinds to `wasm_pc_f_loop`, so `_start` simply returns
 * with the runtime initialised, every package `init` done and `main` waiting
 * in `Serve`. Go keeps its whole call stack in linear memory, so memory plus
 * the eight wasm globals *is* the program state. We copy both, and for each
 * request create a fresh instance, write the copy back, and call
 * `wasm_pc_f_loop` again: the guest continues in `Serve`, re-reads its
 * environment and re-seeds the runtime's random state (see the SDK's
 * snapshot_wasip1.go), then handles the request.
 *
 * The module is rewritten once so the host can do this: its mutable globals
 * and `wasm_pc_f_loop` (found as the last call in `_start`) are exported
 * under `micron:` names, and a second variant without data segments is made
 * for restores (the snapshot already holds the data; Go emits tens of
 * thousands of segments and applying them costs ~2 ms per instance).
 */
import {
  countImports,
  ExternKind,
  functionBody,
  readExports,
  readGlobalMutability,
  readSections,
  SectionId,
  straightLineCalls,
  writeExports,
  writeSections,
} from './core-module.ts';
import type { ExportEntry, Section } from './core-module.ts';

/** The string a snapshot-capable SDK build contains (and the env var the host sets to ask for a pause). */
export const SNAPSHOT_MARKER = 'MICRON_GO_SNAPSHOT_V1';
/** Value of {@link SNAPSHOT_MARKER} while preparing. */
export const SNAPSHOT_PREPARE = 'prepare';
/** Export name of the added resume entry point (Go's wasm_pc_f_loop). */
export const RESUME_EXPORT = 'micron:resume';
const GLOBAL_EXPORT = 'micron:global:';
/** Granularity of the snapshot's non-zero scan. */
const CHUNK = 4096;

/** The two rewritten modules and how many globals they export. */
export interface SnapshotModules {
  /** Original plus `micron:` exports; run `_start` on it once to pause. */
  prepare: Uint8Array;
  /** The same without data segments; instantiate it per request and restore. */
  restore: Uint8Array;
  /** Number of exported mutable globals (`micron:global:0..n-1`). */
  globalCount: number;
}

/** A paused instance's state. */
export interface CommandSnapshot {
  /** Memory size in 64 KiB pages. */
  pages: number;
  /** Non-zero stretches of memory (everything else is zero). */
  runs: { offset: number; bytes: Uint8Array }[];
  /** Values of the exported mutable globals. */
  globals: (number | bigint)[];
  /** The guest clock's virtual offset when paused (restored clocks start there). */
  clockOffsetNs: number;
  /** Bytes held in `runs`. */
  bytes: number;
}

/**
 * Rewrites a command module for snapshots, or returns undefined when the
 * module does not declare SDK support or does not have Go's `_start` shape.
 */
export function snapshotModules(module: Uint8Array): SnapshotModules | undefined {
  const sections = readSections(module);
  const find = (id: number) => sections.find((s) => s.id === id);
  const data = find(SectionId.data);
  const code = find(SectionId.code);
  const exportSection = find(SectionId.export);
  if (!data || !code || !exportSection) return undefined;
  if (Buffer.from(data.payload.buffer, data.payload.byteOffset, data.payload.length).indexOf(SNAPSHOT_MARKER) < 0) {
    return undefined;
  }

  const exports = readExports(exportSection.payload);
  const start = exports.find((e) => e.name === '_start' && e.kind === ExternKind.func);
  if (!start || !exports.some((e) => e.name === 'memory' && e.kind === ExternKind.memory)) return undefined;
  const imported = countImports(find(SectionId.import)?.payload);
  if (start.index < imported.funcs) return undefined;
  const calls = straightLineCalls(functionBody(code.payload, start.index - imported.funcs));
  // Go's _start: set SP; call runtime.rt0_go; drop; call wasm_pc_f_loop; return.
  if (!calls || calls.length !== 2) return undefined;
  const pcLoop = calls[1]!;

  const mutable = readGlobalMutability(find(SectionId.global)?.payload);
  const added: ExportEntry[] = [{ name: RESUME_EXPORT, kind: ExternKind.func, index: pcLoop }];
  let globalCount = 0;
  mutable.forEach((isMutable, i) => {
    if (!isMutable) return;
    added.push({ name: GLOBAL_EXPORT + globalCount++, kind: ExternKind.global, index: imported.globals + i });
  });
  const exportPayload = writeExports([...exports, ...added]);

  const replace = (patch: (s: Section) => Section | undefined) =>
    writeSections(sections.flatMap((s) => patch(s) ?? []));
  const withExports = (s: Section): Section => (s === exportSection ? { id: s.id, payload: exportPayload } : s);
  const prepare = replace(withExports);
  const restore = replace((s) => {
    if (s.id === SectionId.data || s.id === SectionId.dataCount) return { id: s.id, payload: new Uint8Array([0]) };
    return withExports(s);
  });
  return { prepare, restore, globalCount };
}

/** Reads the exported globals of an instance of a {@link snapshotModules} module. */
function globalsOf(instance: WebAssembly.Instance, count: number): WebAssembly.Global[] {
  const out: WebAssembly.Global[] = [];
  for (let i = 0; i < count; i++) {
    const g = instance.exports[GLOBAL_EXPORT + i];
    if (!(g instanceof WebAssembly.Global)) throw new TypeError(`snapshot: missing export ${GLOBAL_EXPORT}${i}`);
    out.push(g);
  }
  return out;
}

/** Copies a paused instance's memory (non-zero chunks only) and globals. */
export function captureSnapshot(instance: WebAssembly.Instance, globalCount: number, clockOffsetNs: number): CommandSnapshot {
  const memory = instance.exports.memory as WebAssembly.Memory;
  const buffer = memory.buffer;
  const words = new Uint32Array(buffer);
  const bytes = new Uint8Array(buffer);
  const runs: CommandSnapshot['runs'] = [];
  const wordsPerChunk = CHUNK / 4;
  let runStart = -1;
  let total = 0;
  const chunks = Math.ceil(bytes.length / CHUNK);
  for (let c = 0; c <= chunks; c++) {
    let nonZero = false;
    if (c < chunks) {
      const end = Math.min(words.length, (c + 1) * wordsPerChunk);
      for (let w = c * wordsPerChunk; w < end; w++) {
        if (words[w] !== 0) {
          nonZero = true;
          break;
        }
      }
    }
    if (nonZero && runStart < 0) runStart = c * CHUNK;
    if (!nonZero && runStart >= 0) {
      const end = Math.min(bytes.length, c * CHUNK);
      runs.push({ offset: runStart, bytes: bytes.slice(runStart, end) });
      total += end - runStart;
      runStart = -1;
    }
  }
  return {
    pages: buffer.byteLength / 65536,
    runs,
    globals: globalsOf(instance, globalCount).map((g) => g.value as number | bigint),
    clockOffsetNs,
    bytes: total,
  };
}

/** Writes a snapshot into a fresh instance of the `restore` module (memory starts zeroed). */
export function restoreSnapshot(instance: WebAssembly.Instance, snapshot: CommandSnapshot): void {
  const memory = instance.exports.memory as WebAssembly.Memory;
  const pages = memory.buffer.byteLength / 65536;
  if (snapshot.pages > pages) memory.grow(snapshot.pages - pages);
  const bytes = new Uint8Array(memory.buffer);
  for (const run of snapshot.runs) bytes.set(run.bytes, run.offset);
  const globals = globalsOf(instance, snapshot.globals.length);
  snapshot.globals.forEach((v, i) => {
    globals[i]!.value = v;
  });
}

/** Calls the resume entry point of a restored instance. */
export function resume(instance: WebAssembly.Instance): void {
  (instance.exports[RESUME_EXPORT] as () => void)();
}
