/**
 * Snapshots of Go wasip1 commands paused in the SDK's `micron.Serve`, and the
 * module rewrite that makes them possible (Wizer's idea, done at run time).
 *
 * Go keeps its whole call stack in linear memory, so a Go instance's state
 * is exactly its memory plus its eight mutable wasm globals (its table is
 * never written). The module is rewritten once to export those globals and
 * Go's `wasm_pc_f_loop` (the last call in `_start`) under `micron:` names.
 *
 * A Go program pauses by setting Go's PAUSE register and unwinding (as Go's
 * js/wasm port does to return to JavaScript): the host's call into it
 * returns, and calling {@link RESUME_EXPORT} continues right after the pause.
 * The SDK pauses in two places:
 *
 * - in `micron.Serve`, once, when the host runs `_start` with
 *   {@link SNAPSHOT_MARKER} in the environment, after runtime and package
 *   init; only a module built with the SDK's `micron_snapshot` tag does
 *   (recognised by that marker in its data). An {@link InstanceImage} of
 *   that state is written back into an instance before each request, which
 *   makes it byte-for-byte the paused instance again; resuming continues in
 *   `Serve`, which re-reads the environment and re-seeds the runtime's
 *   random state (see the SDK's snapshot_wasip1.go) before handling the
 *   request;
 * - in an outbound HTTP request (any SDK build), while the host waits for
 *   the response (host/wasi/micron-http/outbound.ts); the runner resumes the
 *   same instance when it is in.
 *
 * Restoring copies the non-zero part of the image and *compares* the zero
 * part (native memcmp, ~40 GB/s), zeroing only the blocks the last request
 * dirtied, so one instance is reused without allocating a new 17+ MiB memory
 * per request (which also spares V8 a GC per request). A memory that grew
 * past the image cannot shrink: the caller discards that instance (Go's
 * allocator grows memory from its current size, so a larger memory would
 * ratchet up request after request).
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
} from './core-module.js';
import type { ExportEntry } from './core-module.js';

/** The string a snapshot-capable SDK build contains, and the env var the host sets to ask for the pause. */
export const SNAPSHOT_MARKER = 'MICRON_GO_SNAPSHOT_V1';
/** Value of {@link SNAPSHOT_MARKER} while preparing. */
export const SNAPSHOT_PREPARE = 'prepare';
/** Export name of the added resume entry point (Go's wasm_pc_f_loop). */
export const RESUME_EXPORT = 'micron:resume';
const GLOBAL_EXPORT = 'micron:global:';
/** Granularity of the image's zero/non-zero split. */
const CHUNK = 4096;
/** Granularity of the dirty check over the zero part. */
const BLOCK = 65536;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

/** A Go command module rewritten to be resumable (and, with the SDK's tag, snapshotted). */
export interface PausableModule {
  /** The rewritten module's bytes. */
  bytes: Uint8Array<ArrayBuffer>;
  /** Number of exported mutable globals (`micron:global:0..n-1`). */
  globalCount: number;
  /**
   * The module contains {@link SNAPSHOT_MARKER} (built with the SDK's
   * `micron_snapshot` tag) and no passive data segments, so it can start
   * requests from a snapshot. Without it the module is only resumable.
   */
  snapshot: boolean;
}

/**
 * Rewrites a Go wasip1 command to export its resume entry point and its
 * mutable globals, or returns undefined when the module does not have Go's
 * `_start` shape (it then runs only from `_start`, and cannot pause).
 */
export function pausableModule(module: Uint8Array): PausableModule | undefined {
  const sections = readSections(module);
  const find = (id: number) => sections.find((s) => s.id === id);
  const code = find(SectionId.code);
  const data = find(SectionId.data)?.payload;
  const exportSection = find(SectionId.export);
  if (!code || !exportSection) return undefined;

  const exports = readExports(exportSection.payload);
  const start = exports.find((e) => e.name === '_start' && e.kind === ExternKind.func);
  if (!start || !exports.some((e) => e.name === 'memory' && e.kind === ExternKind.memory)) return undefined;
  const imported = countImports(find(SectionId.import)?.payload);
  if (start.index < imported.funcs || imported.globals > 0) return undefined;
  const calls = straightLineCalls(functionBody(code.payload, start.index - imported.funcs));
  // Go's _start: set SP; call runtime.rt0_go; drop; call wasm_pc_f_loop; return.
  if (!calls || calls.length !== 2) return undefined;

  const added: ExportEntry[] = [{ name: RESUME_EXPORT, kind: ExternKind.func, index: calls[1]! }];
  let globalCount = 0;
  readGlobalMutability(find(SectionId.global)?.payload).forEach((isMutable, i) => {
    if (isMutable) added.push({ name: GLOBAL_EXPORT + globalCount++, kind: ExternKind.global, index: i });
  });
  const exportPayload = writeExports([...exports, ...added]);
  const bytes = writeSections(sections.map((s) => (s === exportSection ? { id: s.id, payload: exportPayload } : s)));
  // Passive data segments (a data count section) could be dropped by one run
  // and never come back: such a module cannot be snapshotted.
  const marked = data !== undefined && Buffer.from(data.buffer, data.byteOffset, data.length).indexOf(SNAPSHOT_MARKER) >= 0;
  return { bytes, globalCount, snapshot: marked && !find(SectionId.dataCount) };
}

function globalsOf(instance: WebAssembly.Instance, count: number): WebAssembly.Global[] {
  const out: WebAssembly.Global[] = [];
  for (let i = 0; i < count; i++) {
    const g = instance.exports[GLOBAL_EXPORT + i];
    if (!(g instanceof WebAssembly.Global)) throw new TypeError(`snapshot: missing export ${GLOBAL_EXPORT}${i}`);
    out.push(g);
  }
  return out;
}

/** A captured instance state (memory and mutable globals) that can be written back. */
export class InstanceImage {
  private constructor(
    /** Memory size in 64 KiB pages. */
    readonly pages: number,
    /** Non-zero stretches of memory. */
    readonly runs: readonly { offset: number; bytes: Uint8Array }[],
    /** The zero stretches in between, as [start, end). */
    readonly gaps: readonly (readonly [number, number])[],
    /** Values of the exported mutable globals. */
    readonly globals: readonly (number | bigint)[],
    /** The guest clock's virtual offset at capture (restored clocks start there, so time never runs backwards). */
    readonly clockOffsetNs: number,
  ) {}

  /** Bytes held (the non-zero part of memory). */
  get bytes(): number {
    return this.runs.reduce((n, r) => n + r.bytes.length, 0);
  }

  /** Captures an instance of a {@link pausableModule} module. */
  static capture(instance: WebAssembly.Instance, globalCount: number, clockOffsetNs = 0): InstanceImage {
    const buffer = (instance.exports.memory as WebAssembly.Memory).buffer;
    const bytes = new Uint8Array(buffer);
    const buf = Buffer.from(buffer);
    const runs: { offset: number; bytes: Uint8Array }[] = [];
    const gaps: [number, number][] = [];
    let at = 0;
    let nonZero = false;
    for (let c = 0; c <= bytes.length; c += CHUNK) {
      const end = Math.min(bytes.length, c + CHUNK);
      const chunkNonZero = c < bytes.length && buf.compare(ZERO_BLOCK, 0, end - c, c, end) !== 0;
      if (c === bytes.length || (c > 0 && chunkNonZero !== nonZero)) {
        if (c > at) {
          if (nonZero) runs.push({ offset: at, bytes: bytes.slice(at, c) });
          else gaps.push([at, c]);
        }
        at = c;
      }
      nonZero = chunkNonZero;
    }
    const globals = globalsOf(instance, globalCount).map((g) => g.value as number | bigint);
    return new InstanceImage(buffer.byteLength / 65536, runs, gaps, globals, clockOffsetNs);
  }

  /**
   * Makes `instance` (of the same rewritten module) exactly this image again.
   * Returns false, changing nothing, if its memory grew past the image.
   */
  restore(instance: WebAssembly.Instance): boolean {
    const memory = instance.exports.memory as WebAssembly.Memory;
    const pages = memory.buffer.byteLength / 65536;
    if (pages > this.pages) return false;
    if (pages < this.pages) memory.grow(this.pages - pages);
    const bytes = new Uint8Array(memory.buffer);
    const buf = Buffer.from(memory.buffer);
    for (const run of this.runs) bytes.set(run.bytes, run.offset);
    for (const [start, end] of this.gaps) {
      for (let o = start; o < end; o += BLOCK) {
        const len = Math.min(BLOCK, end - o);
        if (buf.compare(ZERO_BLOCK, 0, len, o, o + len) !== 0) bytes.fill(0, o, o + len);
      }
    }
    const globals = globalsOf(instance, this.globals.length);
    this.globals.forEach((v, i) => {
      globals[i]!.value = v;
    });
    return true;
  }
}

/** Calls the resume entry point (Go's wasm_pc_f_loop) of a paused instance (restored from an image, or paused in a request). */
export function resume(instance: WebAssembly.Instance): void {
  (instance.exports[RESUME_EXPORT] as () => void)();
}
