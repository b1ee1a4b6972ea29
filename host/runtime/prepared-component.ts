/**
 * A prepared component: compiled core modules, host functions lowered once,
 * stateless shim instances created once, and import objects built once. A
 * request runs only what must be fresh:
 *
 * - **reused** (the common case for guests built by our SDKs and WAT): the
 *   entry module's state is fully resettable, so an idle instance is taken
 *   from an {@link InstancePool} and reset after use (no instantiation);
 * - **pooled memory**: a `new WebAssembly.Instance` with a recycled memory;
 * - **faithful**: every dynamic step of the component's instance graph (for
 *   components with several stateful modules, such as adapter-based ones).
 */
import { MemSlot, lowerImport, lowerResourceDrop, type CoreFn, type Realloc } from '../abi/canon.js';
import type { LinkPlan, CoreRef, InstanceStep } from '../compile/link-plan.js';
import { POOL_MEMORY_IMPORT } from '../compile/instrument.js';
import { InstancePool, type PooledInstance } from './instance-pool.js';
import { MemoryPool } from './memory-pool.js';

type Exports = Record<string, unknown>;

/** What one fresh (or freshly reset) instance yields. */
export interface LiveInstance {
  /** The lifted entry (`handle(request, response-out)`). */
  entry: (request: number, responseOut: number) => void;
  /** Canonical-option slots resolved against this instance. */
  slots: MemSlot[];
  /** Asyncify controls of the entry's instance, when it was instrumented. */
  asyncify: AsyncifyControls | undefined;
  /** Memory of the entry's instance, for metrics and suspension. */
  memory: WebAssembly.Memory | undefined;
  /** The pooled memory this instance runs in, to return with {@link PreparedComponent.release}. */
  pooledMemory: WebAssembly.Memory | undefined;
  /** The reusable instance, to return with {@link PreparedComponent.release}. */
  pooledInstance: PooledInstance | undefined;
}

/** Asyncify's exported controls. */
export interface AsyncifyControls {
  startUnwind(ptr: number): void;
  stopUnwind(): void;
  startRewind(ptr: number): void;
  stopRewind(): void;
}

/** The per-request recipe for one dynamic step. */
type DynamicStep =
  | {
      kind: 'instantiate';
      index: number;
      module: WebAssembly.Module;
      imports: Record<string, Exports> | undefined;
      args: { name: string; instance: number }[];
      /** True for the module whose memory comes from the pool. */
      pooled: boolean;
    }
  | { kind: 'exports'; index: number; exports: { name: string; ref: CoreRef }[] };

/** How the entry module's memory and state are handled (decided at load). */
export interface EntryMemory {
  /** Limits (pages) of the `micron:pool/memory` import. */
  initial: number;
  maximum: number | undefined;
  /** True when the module's whole state can be reset and the instance reused. */
  resettable: boolean;
}

/**
 * The `InstancePre` of Micron. Build with {@link PreparedComponent.create};
 * call {@link instantiate} per request and {@link release} when done.
 */
export class PreparedComponent {
  private readonly hostFns: CoreFn[];
  private readonly instances: (Exports | undefined)[];
  private readonly dynamicSteps: DynamicStep[];
  /** True when the entry module was instrumented for suspension. */
  readonly suspendable: boolean;
  /** Recycled memories of the entry module (pooled-memory mode). */
  readonly memoryPool: MemoryPool | undefined;
  /** Reset-and-reuse instances of the entry module (reused mode). */
  readonly instancePool: InstancePool | undefined;
  /** Import objects per pooled memory, so a reused memory reuses its imports too. */
  private readonly pooledImports = new WeakMap<WebAssembly.Memory, Record<string, Exports>>();

  /** Siblings whose pooled memories have a lower maximum, by that maximum (see {@link withMemoryCap}). */
  private readonly capped = new Map<number, PreparedComponent>();

  private constructor(
    readonly plan: LinkPlan,
    private readonly modules: (WebAssembly.Module | undefined)[],
    private readonly memory: EntryMemory | undefined,
  ) {
    const entryStep = plan.steps[plan.entry.instance];
    const entryModule = entryStep?.kind === 'instantiate' ? modules[entryStep.module] : undefined;
    const pooled = memory !== undefined && entryModule !== undefined;
    this.hostFns = plan.hostFuncs.map((h) => (h.kind === 'lower' ? lowerImport(h.type, h.impl, h.slot) : lowerResourceDrop(h.resource)));
    this.instances = new Array(plan.steps.length).fill(undefined);
    this.dynamicSteps = [];
    // Static steps run now, in order; dynamic ones are recorded with whatever can be resolved ahead.
    for (const step of plan.steps) {
      if (!step.dynamic) {
        this.instances[step.index] = this.runStep(step, modules, this.instances);
        continue;
      }
      if (step.kind === 'instantiate') {
        const allStatic = step.args.every((a) => !plan.steps[a.instance]!.dynamic);
        const module = modules[step.module];
        if (!module) throw new Error(`module ${step.module} was not compiled`);
        this.dynamicSteps.push({
          kind: 'instantiate',
          index: step.index,
          module,
          imports: allStatic ? this.importObject(step.args, this.instances) : undefined,
          args: step.args,
          pooled: pooled && step.index === plan.entry.instance,
        });
      } else {
        this.dynamicSteps.push({ kind: 'exports', index: step.index, exports: step.exports });
      }
    }
    this.suspendable = entryModule !== undefined && WebAssembly.Module.exports(entryModule).some((e) => e.name === 'asyncify_start_unwind');

    const only = this.dynamicSteps.length === 1 ? this.dynamicSteps[0] : undefined;
    if (memory?.resettable && only?.kind === 'instantiate' && only.pooled && only.imports) {
      const imports = only.imports;
      const limits = memory.maximum === undefined ? { initial: memory.initial } : { initial: memory.initial, maximum: memory.maximum };
      this.instancePool = new InstancePool(
        () => {
          const mem = new WebAssembly.Memory(limits);
          const all = { ...imports, [POOL_MEMORY_IMPORT.module]: { [POOL_MEMORY_IMPORT.name]: mem } };
          return { exports: new WebAssembly.Instance(only.module, all as WebAssembly.Imports).exports as Exports, memory: mem };
        },
        (exports) => {
          const inst = this.instances.slice();
          inst[only.index] = exports;
          return this.resolveSlots(inst);
        },
      );
      this.memoryPool = undefined;
    } else {
      this.memoryPool = pooled ? new MemoryPool(memory.initial, memory.maximum) : undefined;
      this.instancePool = undefined;
    }
  }

  /**
   * Prepares a planned component from its compiled modules (index = component
   * module index). `memory` describes the entry module's `micron:pool/memory`
   * import when its memory was made poolable at deploy.
   */
  static create(plan: LinkPlan, modules: (WebAssembly.Module | undefined)[], memory?: EntryMemory): PreparedComponent {
    return new PreparedComponent(plan, modules, memory);
  }

  /**
   * This component with its pooled memories capped at `maxPages` (the
   * function's `memoryPages` limit): the same compiled modules, its own pools,
   * created once per cap. A guest growing past the cap sees `memory.grow`
   * fail. Returns `this` when the cap is no lower than the module's own
   * maximum, or when the memory is not pooled (a module that keeps its own
   * memory was capped at load, see `compile/memory-limit.ts`). A cap below
   * the module's initial size makes every instantiation fail (a trap).
   */
  withMemoryCap(maxPages: number): PreparedComponent {
    const m = this.memory;
    if (!m || (!this.memoryPool && !this.instancePool) || (m.maximum !== undefined && m.maximum <= maxPages)) return this;
    let sibling = this.capped.get(maxPages);
    if (!sibling) this.capped.set(maxPages, (sibling = new PreparedComponent(this.plan, this.modules, { ...m, maximum: maxPages })));
    return sibling;
  }

  /** How a request gets its instance: `reused`, `pooled-memory` or `fresh`. */
  get mode(): 'reused' | 'pooled-memory' | 'fresh' {
    return this.instancePool ? 'reused' : this.memoryPool ? 'pooled-memory' : 'fresh';
  }

  /** Number of core instances created per request (0 when instances are reused). */
  get instancesPerRequest(): number {
    return this.instancePool ? 0 : this.dynamicSteps.filter((s) => s.kind === 'instantiate').length;
  }

  /**
   * An idle reused instance, already reset to its initial state, or
   * undefined when there is none (or instances are not reused here). Taking
   * one runs no guest code, so unlike {@link instantiate} it needs no
   * deadline.
   */
  takeIdle(): LiveInstance | undefined {
    const p = this.instancePool?.takeIdle();
    return p && this.pooledLive(p);
  }

  /** An instance in its initial state, with its slots resolved. Runs guest code (start functions) when it creates one. */
  instantiate(): LiveInstance {
    if (this.instancePool) return this.pooledLive(this.instancePool.acquire());
    const inst = this.instances.slice();
    let pooledMemory: WebAssembly.Memory | undefined;
    for (const step of this.dynamicSteps) {
      if (step.kind === 'instantiate') {
        let imports = step.imports ?? this.importObject(step.args, inst);
        if (step.pooled) {
          pooledMemory = this.memoryPool!.acquire();
          let withMemory = this.pooledImports.get(pooledMemory);
          if (!withMemory || !step.imports) {
            withMemory = { ...imports, [POOL_MEMORY_IMPORT.module]: { [POOL_MEMORY_IMPORT.name]: pooledMemory } };
            if (step.imports) this.pooledImports.set(pooledMemory, withMemory);
          }
          imports = withMemory;
        }
        try {
          inst[step.index] = new WebAssembly.Instance(step.module, imports as WebAssembly.Imports).exports as Exports;
        } catch (e) {
          if (pooledMemory) this.memoryPool!.release(pooledMemory);
          throw e;
        }
      } else {
        inst[step.index] = this.exportObject(step.exports, inst);
      }
    }
    const ex = inst[this.plan.entry.instance]!;
    return this.live(ex, this.resolveSlots(inst), ex.memory instanceof WebAssembly.Memory ? ex.memory : undefined, pooledMemory, undefined);
  }

  /** Returns a finished instance's resources (its memory, or the instance itself) for reuse. */
  release(live: LiveInstance): void {
    if (live.pooledInstance) this.instancePool!.release(live.pooledInstance);
    else if (live.pooledMemory) this.memoryPool!.release(live.pooledMemory);
  }

  /** The live view of a reused instance: built at its first use and kept with it. */
  private pooledLive(p: PooledInstance): LiveInstance {
    return (p.attached as LiveInstance | undefined) ?? (p.attached = this.live(p.exports, p.slots, p.memory, undefined, p));
  }

  private live(ex: Exports, slots: MemSlot[], memory: WebAssembly.Memory | undefined, pooledMemory: WebAssembly.Memory | undefined, pooledInstance: PooledInstance | undefined): LiveInstance {
    const asyncify = this.suspendable
      ? {
          startUnwind: ex.asyncify_start_unwind as (p: number) => void,
          stopUnwind: ex.asyncify_stop_unwind as () => void,
          startRewind: ex.asyncify_start_rewind as (p: number) => void,
          stopRewind: ex.asyncify_stop_rewind as () => void,
        }
      : undefined;
    return { entry: ex[this.plan.entry.name] as (a: number, b: number) => void, slots, asyncify, memory, pooledMemory, pooledInstance };
  }

  private resolveSlots(inst: (Exports | undefined)[]): MemSlot[] {
    return this.plan.slots.map((sp) => {
      const memory = sp.memory ? (inst[sp.memory.instance]?.[sp.memory.name] as WebAssembly.Memory | undefined) : undefined;
      const realloc = sp.realloc ? (inst[sp.realloc.instance]?.[sp.realloc.name] as Realloc | undefined) : undefined;
      return new MemSlot(memory, realloc, sp.encoding);
    });
  }

  private resolve(ref: CoreRef, inst: (Exports | undefined)[]): unknown {
    if (ref.kind === 'host') return this.hostFns[ref.index];
    const src = inst[ref.instance];
    if (!src) throw new Error(`core instance ${ref.instance} is used before it exists`);
    return src[ref.name];
  }

  private exportObject(exports: { name: string; ref: CoreRef }[], inst: (Exports | undefined)[]): Exports {
    const o: Exports = {};
    for (const e of exports) o[e.name] = this.resolve(e.ref, inst);
    return o;
  }

  private importObject(args: { name: string; instance: number }[], inst: (Exports | undefined)[]): Record<string, Exports> {
    const o: Record<string, Exports> = {};
    for (const a of args) {
      const src = inst[a.instance];
      if (!src) throw new Error(`core instance ${a.instance} is used before it exists`);
      o[a.name] = src;
    }
    return o;
  }

  private runStep(step: InstanceStep, modules: (WebAssembly.Module | undefined)[], inst: (Exports | undefined)[]): Exports {
    if (step.kind === 'exports') return this.exportObject(step.exports, inst);
    const module = modules[step.module];
    if (!module) throw new Error(`module ${step.module} was not compiled`);
    return new WebAssembly.Instance(module, this.importObject(step.args, inst) as WebAssembly.Imports).exports as Exports;
  }
}
