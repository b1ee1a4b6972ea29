/**
 * A prepared component: compiled core modules, host functions lowered once,
 * stateless shim instances created once, and import objects built once. A
 * request only runs the dynamic instantiation steps (usually a single
 * `new WebAssembly.Instance`) and resolves the canonical-option slots.
 */
import { MemSlot, lowerImport, lowerResourceDrop, type CoreFn, type Realloc } from '../abi/canon.js';
import type { LinkPlan, CoreRef, InstanceStep } from '../compile/link-plan.js';
import { POOL_MEMORY_IMPORT } from '../compile/instrument.js';
import { MemoryPool } from './memory-pool.js';

type Exports = Record<string, unknown>;

/** What one fresh instantiation yields. */
export interface LiveInstance {
  /** The lifted entry (`handle(request, response-out)`). */
  entry: (request: number, responseOut: number) => void;
  /** Asyncify controls of the entry's instance, when it was instrumented. */
  asyncify: AsyncifyControls | undefined;
  /** Memory of the entry's instance, for metrics (pages at the end). */
  memory: WebAssembly.Memory | undefined;
  /** Realloc of the entry's instance, for allocating the suspension buffer. */
  realloc: Realloc | undefined;
  /** The pooled memory this instance runs in, to return with {@link PreparedComponent.release}. */
  pooled: WebAssembly.Memory | undefined;
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

/**
 * The `InstancePre` of Micron. Build with {@link PreparedComponent.create};
 * call {@link instantiate} per request.
 */
export class PreparedComponent {
  private readonly hostFns: CoreFn[];
  private readonly instances: (Exports | undefined)[];
  private readonly dynamicSteps: DynamicStep[];
  /** True when the entry module was instrumented for suspension. */
  readonly suspendable: boolean;
  /** Recycled memories of the entry module, when its memory was made an import at deploy. */
  readonly pool: MemoryPool | undefined;
  /** Import objects per pooled memory, so a reused memory reuses its imports too. */
  private readonly pooledImports = new WeakMap<WebAssembly.Memory, Record<string, Exports>>();

  private constructor(
    readonly plan: LinkPlan,
    modules: (WebAssembly.Module | undefined)[],
    memory: { initial: number; maximum: number | undefined } | undefined,
  ) {
    const entryStep = plan.steps[plan.entry.instance];
    const entryModule = entryStep?.kind === 'instantiate' ? modules[entryStep.module] : undefined;
    const pooled = memory !== undefined && entryModule !== undefined;
    this.pool = pooled ? new MemoryPool(memory.initial, memory.maximum) : undefined;
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
    this.suspendable =
      entryModule !== undefined && WebAssembly.Module.exports(entryModule).some((e) => e.name === 'asyncify_start_unwind');
  }

  /**
   * Prepares a planned component from its compiled modules (index = component
   * module index). `memory` gives the limits (pages) of the entry module's
   * `micron:pool/memory` import when its memory was made poolable at deploy.
   */
  static create(
    plan: LinkPlan,
    modules: (WebAssembly.Module | undefined)[],
    memory?: { initial: number; maximum: number | undefined },
  ): PreparedComponent {
    return new PreparedComponent(plan, modules, memory);
  }

  /** Returns an instance's pooled memory once the instance is finished. */
  release(live: LiveInstance): void {
    if (live.pooled) this.pool!.release(live.pooled);
  }

  /** Number of core instances created per request. */
  get instancesPerRequest(): number {
    return this.dynamicSteps.filter((s) => s.kind === 'instantiate').length;
  }

  /**
   * Creates a fresh instance. `slots` receives the resolved canonical-option
   * slots (one MemSlot per plan slot) so lowered functions can reach memory.
   */
  instantiate(slots: MemSlot[]): LiveInstance {
    const inst = this.instances.slice();
    const plan = this.plan;
    // Slots must exist before instantiation (a start function may call imports).
    for (let i = 0; i < plan.slots.length; i++) slots[i] = new MemSlot(undefined, undefined, plan.slots[i]!.encoding);
    let pooledMemory: WebAssembly.Memory | undefined;
    for (const step of this.dynamicSteps) {
      if (step.kind === 'instantiate') {
        let imports = step.imports ?? this.importObject(step.args, inst);
        if (step.pooled) {
          pooledMemory = this.pool!.acquire();
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
          if (pooledMemory) this.pool!.release(pooledMemory);
          throw e;
        }
      } else {
        inst[step.index] = this.exportObject(step.exports, inst);
      }
    }
    for (let i = 0; i < plan.slots.length; i++) {
      const sp = plan.slots[i]!;
      const s = slots[i]!;
      if (sp.memory) s.memory = inst[sp.memory.instance]![sp.memory.name] as WebAssembly.Memory;
      if (sp.realloc) s.realloc = inst[sp.realloc.instance]![sp.realloc.name] as Realloc;
    }
    const ex = inst[plan.entry.instance]!;
    const asyncify = this.suspendable
      ? {
          startUnwind: ex.asyncify_start_unwind as (p: number) => void,
          stopUnwind: ex.asyncify_stop_unwind as () => void,
          startRewind: ex.asyncify_start_rewind as (p: number) => void,
          stopRewind: ex.asyncify_stop_rewind as () => void,
        }
      : undefined;
    return {
      entry: ex[plan.entry.name] as (a: number, b: number) => void,
      asyncify,
      memory: ex.memory instanceof WebAssembly.Memory ? ex.memory : undefined,
      realloc: typeof ex.cabi_realloc === 'function' ? (ex.cabi_realloc as Realloc) : undefined,
      pooled: pooledMemory,
    };
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
