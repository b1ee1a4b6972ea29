/**
 * Reused instances with a full state reset: the step past a pooled memory.
 *
 * A core module whose state is only its memory, its mutable globals and its
 * tables (no start function, no droppable segments; see
 * `canResetState`) can be put back into exactly the state a fresh
 * instantiation produces: the memory image right after instantiation, the
 * globals' initial values, the tables' initial entries. The deploy-time
 * rewrite exports those globals and tables; this pool captures the pristine
 * state once, and on release writes it back. A request then costs no
 * `new WebAssembly.Instance` at all, and still observes a fresh instance.
 *
 * An instance whose memory or tables grew is dropped instead (it cannot be
 * shrunk back), and the pool keeps a bounded number of idle instances.
 *
 * The memory image is the same for every instance of the module and is
 * captured once. Table entries (and reference-typed globals) are not: a
 * funcref is bound to the instance that produced it, so each instance keeps
 * its own initial tables and globals (restoring the first instance's
 * into a later one made the later one call into the first one's code, with
 * the first one's memory and globals).
 */
import { MemSlot } from '../abi/canon.js';
import { STATE_EXPORT_PREFIX } from '../compile/instrument.js';

type Exports = Record<string, unknown>;

/** An idle or running instance of the pool. */
export interface PooledInstance {
  readonly exports: Exports;
  readonly memory: WebAssembly.Memory;
  /** Canonical-option slots bound to this instance (reused with it). */
  readonly slots: MemSlot[];
  readonly globals: WebAssembly.Global[];
  readonly tables: WebAssembly.Table[];
  /** The globals' values and the tables' entries right after this instance's instantiation (see the file comment). */
  readonly initialGlobals: unknown[];
  readonly initialTables: unknown[][];
  /**
   * A byte view of the memory, taken once: a grown memory detaches it (its
   * length drops to 0), which is how {@link InstancePool.release} tells a
   * grown instance without asking the memory for its buffer.
   */
  readonly view: Uint8Array;
  /** What its owner built from it once, kept with it across uses (see `PreparedComponent`). */
  attached?: unknown;
}

/**
 * The memory right after instantiation, as its non-zero stretches: the reset
 * zeroes the whole memory and writes these back. Most of a compiled guest's
 * image is zero (Rust's 64 KiB stack sits below its data), and copying a
 * whole prefix image would read all of it on every reset.
 */
interface Pristine {
  runs: ImageRun[];
  /** The memory's size in bytes. */
  bytes: number;
}

interface ImageRun {
  at: number;
  bytes: Uint8Array;
}

/** Zero bytes inside one run before it is split in two (a `set` call costs more than copying this many bytes). */
const RUN_GAP_BYTES = 256;

/** Pool statistics. */
export interface InstancePoolStats {
  idle: number;
  created: number;
  reused: number;
  discarded: number;
}

/** Instances of one module, reset between uses. */
export class InstancePool {
  private readonly idle: PooledInstance[] = [];
  private pristine: Pristine | undefined;
  private created = 0;
  private reused = 0;
  private discarded = 0;

  constructor(
    private readonly create: () => { exports: Exports; memory: WebAssembly.Memory },
    private readonly makeSlots: (exports: Exports, memory: WebAssembly.Memory) => MemSlot[],
    readonly capacity = 64,
  ) {}

  /** An idle instance, already reset to its initial state, or undefined when none is idle. */
  takeIdle(): PooledInstance | undefined {
    const inst = this.idle.pop();
    if (inst) this.reused++;
    return inst;
  }

  /** An instance in its initial state: an idle one, else a new one (which runs the module's instantiation). */
  acquire(): PooledInstance {
    const inst = this.takeIdle();
    if (inst) return inst;
    this.created++;
    const { exports, memory } = this.create();
    const globals: WebAssembly.Global[] = [];
    const tables: WebAssembly.Table[] = [];
    for (const [name, v] of Object.entries(exports)) {
      if (!name.startsWith(STATE_EXPORT_PREFIX)) continue;
      if (v instanceof WebAssembly.Global) globals.push(v);
      else if (v instanceof WebAssembly.Table) tables.push(v);
    }
    const initialGlobals = globals.map((g) => g.value as unknown);
    const initialTables = tables.map((t) => Array.from({ length: t.length }, (_, j) => t.get(j) as unknown));
    const pooled: PooledInstance = {
      exports,
      memory,
      slots: this.makeSlots(exports, memory),
      globals,
      tables,
      initialGlobals,
      initialTables,
      view: new Uint8Array(memory.buffer),
    };
    this.pristine ??= capture(pooled);
    return pooled;
  }

  /** Returns a finished instance: reset and kept, or dropped when it cannot be reset. */
  release(inst: PooledInstance): void {
    const p = this.pristine!;
    const u8 = inst.view;
    if (u8.byteLength !== p.bytes || this.idle.length >= this.capacity || tablesGrew(inst.tables, inst.initialTables)) {
      this.discarded++;
      return;
    }
    u8.fill(0);
    const runs = p.runs;
    for (let i = 0; i < runs.length; i++) u8.set(runs[i]!.bytes, runs[i]!.at);
    for (let i = 0; i < inst.globals.length; i++) inst.globals[i]!.value = inst.initialGlobals[i];
    for (let i = 0; i < inst.tables.length; i++) {
      const t = inst.tables[i]!;
      const init = inst.initialTables[i]!;
      for (let j = 0; j < init.length; j++) if (t.get(j) !== init[j]) t.set(j, init[j]);
    }
    this.idle.push(inst);
  }

  stats(): InstancePoolStats {
    return { idle: this.idle.length, created: this.created, reused: this.reused, discarded: this.discarded };
  }
}

function tablesGrew(tables: WebAssembly.Table[], initial: unknown[][]): boolean {
  for (let i = 0; i < tables.length; i++) if (tables[i]!.length !== initial[i]!.length) return true;
  return false;
}

function capture(inst: PooledInstance): Pristine {
  return { runs: imageRuns(new Uint8Array(inst.memory.buffer)), bytes: inst.memory.buffer.byteLength };
}

/** The non-zero stretches of `u8` (copied), split where more than {@link RUN_GAP_BYTES} zero bytes lie between them. */
export function imageRuns(u8: Uint8Array): ImageRun[] {
  const runs: ImageRun[] = [];
  let i = 0;
  while (i < u8.length) {
    if (u8[i] === 0) {
      i++;
      continue;
    }
    const start = i;
    let last = i;
    // Look on while the zeros since the last non-zero byte (i - last - 1) are within the gap.
    for (; i < u8.length && i - last - 1 <= RUN_GAP_BYTES; i++) if (u8[i] !== 0) last = i;
    runs.push({ at: start, bytes: u8.slice(start, last + 1) });
    i = last + 1;
  }
  return runs;
}
