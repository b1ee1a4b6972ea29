/**
 * Deploy-time compilation: validate the upload, transpile it once with jco
 * (which validates the component and lists its interfaces), plan the link,
 * instrument modules that can block, and compile the core modules. What can
 * be persisted is returned as artifacts, so a restart only re-compiles core
 * modules (V8 work) and never re-transpiles or re-instruments.
 */
import { createHash } from 'node:crypto';
import type { WitRegistry } from '../abi/wit.js';
import { MicronError } from '../errors.js';
import { BLOCKING_FUNCTIONS, type HostInterfaces } from '../wasi/imports.js';
import { PreparedComponent, type EntryMemory } from '../runtime/prepared-component.js';
import { CommandRunner, findCommandModule } from '../runtime/command-runner.js';
import { instrument, POOL_MEMORY_IMPORT, transpileInWorker } from './instrument.js';
import { ComponentFormatError, canResetState, coreModuleImports, isComponent, isCoreModule, readComponent, type ComponentStructure } from './component-binary.js';
import { planComponent, type LinkPlan } from './link-plan.js';
import { capMemory } from './memory-limit.js';

/** Metadata persisted beside a component's artifacts. */
export interface ArtifactMeta {
  /** `http` for wasi:http/incoming-handler components; `command` for wasi:cli/run components run with the CGI contract. */
  kind?: 'http' | 'command';
  digest: string;
  size: number;
  imports: string[];
  exports: string[];
  /** Milliseconds jco took to transpile at deploy. */
  transpileMs: number;
  /** Milliseconds spent instrumenting blocking modules at deploy. */
  instrumentMs: number;
  /** Component module indices replaced by instrumented bytes (`module-<i>.wasm`). */
  instrumented: number[];
  /** Number of core instances created per request. */
  instancesPerRequest?: number;
  /** sha256 of each stored artifact file besides component.wasm (`module-<i>.wasm`); absent in sets stored before the seventh session. */
  files?: Record<string, string>;
}

/** Artifacts produced at deploy, keyed by file name. */
export interface BuildResult {
  meta: ArtifactMeta;
  files: Map<string, Uint8Array>;
}

/** A component ready to serve, with how long compiling its modules took. */
export interface LoadedComponent {
  /** Set for HTTP components. */
  prepared: PreparedComponent;
  /** Set for command components (CGI contract), instead of `prepared`. */
  command?: CommandRunner;
  plan: LinkPlan | undefined;
  compileMs: number;
  /** Approximate bytes held in memory for this component (module bytes). */
  bytes: number;
}

/** Hex SHA-256 of bytes. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Modules larger than this are not rewritten: binaryen's time and the output
 * size grow with them, and such guests (whole language runtimes) run with
 * their own memory and without suspension.
 */
const MAX_INSTRUMENT_BYTES = 4 * 1024 * 1024;

/** Turns uploads into artifacts and artifacts into prepared components. */
export class Compiler {
  /**
   * @param memoryPages the host's limit on a linear memory (64 KiB pages),
   *   written into modules that keep their own memory (pooled memories get it
   *   from the runtime instead)
   */
  constructor(
    private readonly wit: WitRegistry,
    private readonly host: HostInterfaces,
    private readonly memoryPages = 65536,
  ) {}

  /** Checks the bytes look like a component; throws a MicronError with a stable code otherwise. */
  static validateShape(bytes: Uint8Array): void {
    if (bytes.length === 0) throw new MicronError('empty_body', 'the upload is empty');
    if (isCoreModule(bytes)) {
      throw new MicronError('not_a_component', 'the upload is a core WebAssembly module; deploy a component (see `jco new` or `micron build`)');
    }
    if (!isComponent(bytes)) throw new MicronError('invalid_wasm', 'the upload is not WebAssembly (bad magic number or version)');
  }

  /** Deploy-time work. Throws MicronError (422) for anything the host cannot run. */
  async build(bytes: Uint8Array): Promise<BuildResult> {
    Compiler.validateShape(bytes);
    const digest = sha256(bytes);
    const t0 = performance.now();
    // On the deploy worker (jco loaded there on its first transpile): a large component's bindgen
    // takes a second of CPU, which on this thread would stall every function's requests.
    let transpiled: Map<string, Uint8Array>;
    try {
      transpiled = await transpileInWorker(bytes, { instantiation: 'sync', noTypescript: true, name: 'component', base64Cutoff: 0 });
    } catch (e) {
      throw new MicronError('invalid_component', `the component failed validation: ${firstLine(e)}`);
    }
    const transpileMs = performance.now() - t0;
    const structure = this.read(bytes);
    const command = this.commandModule(structure);
    if (command) {
      // Validate now (imports, exports, compiles) so a bad command fails at deploy.
      await CommandRunner.compile(command, { mode: 'fresh' });
      const meta: ArtifactMeta = {
        kind: 'command',
        digest,
        size: bytes.length,
        imports: structure.imports.map((i) => i.name),
        exports: structure.exports.map((e) => e.name),
        transpileMs: round(transpileMs),
        instrumentMs: 0,
        instrumented: [],
      };
      const files = new Map<string, Uint8Array>();
      const glue = transpiled.get('component.js');
      if (glue) files.set('jco/component.js', glue);
      return { meta, files };
    }
    const plan = this.plan(structure);
    const files = new Map<string, Uint8Array>();
    const glue = transpiled.get('component.js');
    if (glue) files.set('jco/component.js', glue);

    // Rewrite the per-request entry module once: suspendable blocking calls, pooled memory.
    const t1 = performance.now();
    const instrumented: number[] = [];
    const m = moduleOfEntry(plan);
    const src = structure.modules[m];
    if (src && plan.dynamicModules.includes(m) && src.length <= MAX_INSTRUMENT_BYTES) {
      const blocking = plan.blockingImports.get(m) ?? [];
      try {
        const out = await instrument(src, { asyncifyImports: blocking, importMemory: true, exportState: true });
        files.set(`module-${m}.wasm`, out.bytes);
        instrumented.push(m);
      } catch (e) {
        throw new MicronError('invalid_component', `core module ${m} cannot be prepared: ${firstLine(e)}`);
      }
    }
    const instrumentMs = performance.now() - t1;
    const meta: ArtifactMeta = {
      kind: 'http',
      digest,
      size: bytes.length,
      imports: plan.imports,
      exports: plan.exports,
      transpileMs: round(transpileMs),
      instrumentMs: round(instrumentMs),
      instrumented,
    };
    return { meta, files };
  }

  /** Compiles the core modules and prepares the component (load time, or cold start). */
  async load(bytes: Uint8Array, meta: ArtifactMeta, files: (name: string) => Uint8Array | undefined): Promise<LoadedComponent> {
    const structure = this.read(bytes);
    if (meta.kind === 'command') {
      const core = this.commandModule(structure);
      if (!core) throw new MicronError('internal', `component ${meta.digest} has no command module`);
      const t0 = performance.now();
      const command = await CommandRunner.compile(core);
      return { prepared: undefined as unknown as PreparedComponent, command, plan: undefined, compileMs: round(performance.now() - t0), bytes: core.length };
    }
    const plan = this.plan(structure);
    const t0 = performance.now();
    const wanted = new Set<number>();
    let poolMemory: EntryMemory | undefined;
    for (const s of plan.steps) if (s.kind === 'instantiate') wanted.add(s.module);
    const modules: (WebAssembly.Module | undefined)[] = new Array(structure.modules.length).fill(undefined);
    let total = 0;
    await Promise.all(
      [...wanted].map(async (m) => {
        const stored = meta.instrumented.includes(m) ? files(`module-${m}.wasm`) : structure.modules[m];
        if (!stored) throw new MicronError('internal', `artifact module-${m}.wasm of ${meta.digest} is missing`);
        let src: Uint8Array;
        try {
          src = capMemory(stored, this.memoryPages);
        } catch (e) {
          throw new MicronError('invalid_component', `core module ${m}: ${firstLine(e)}`);
        }
        const pool = coreModuleImports(src).find((i) => i.kind === 'memory' && i.module === POOL_MEMORY_IMPORT.module && i.name === POOL_MEMORY_IMPORT.name);
        if (pool?.limits) poolMemory = { ...pool.limits, resettable: canResetState(src) };
        total += src.length;
        try {
          modules[m] = await WebAssembly.compile(src as Uint8Array<ArrayBuffer>);
        } catch (e) {
          throw new MicronError('invalid_component', `core module ${m} does not compile: ${firstLine(e)}`);
        }
      }),
    );
    const compileMs = performance.now() - t0;
    let prepared: PreparedComponent;
    try {
      prepared = PreparedComponent.create(plan, modules, poolMemory);
    } catch (e) {
      throw new MicronError('invalid_component', `the component cannot be prepared: ${firstLine(e)}`);
    }
    return { prepared, plan, compileMs: round(compileMs), bytes: total };
  }

  /** The preview1 command module of a `wasi:cli/run` component without an HTTP handler, if that is what this is. */
  private commandModule(structure: ComponentStructure): Uint8Array | undefined {
    const exportsRun = structure.exports.some((e) => /^wasi:cli\/run@0\.2\./.test(e.name));
    const exportsHttp = structure.exports.some((e) => /^wasi:http\/incoming-handler@0\.2\./.test(e.name));
    if (!exportsRun || exportsHttp) return undefined;
    return findCommandModule(structure.modules);
  }

  private read(bytes: Uint8Array): ComponentStructure {
    try {
      return readComponent(bytes);
    } catch (e) {
      if (e instanceof ComponentFormatError) throw new MicronError('invalid_component', e.message);
      throw e;
    }
  }

  private plan(structure: ComponentStructure): LinkPlan {
    return planComponent(structure, this.wit, this.host, BLOCKING_FUNCTIONS, (m) => {
      const bytes = structure.modules[m];
      if (!bytes || bytes.length === 0) return [];
      try {
        return coreModuleImports(bytes);
      } catch (e) {
        throw new MicronError('invalid_component', `core module ${m} is invalid: ${firstLine(e)}`);
      }
    });
  }
}

function moduleOfEntry(plan: LinkPlan): number {
  const step = plan.steps[plan.entry.instance];
  return step?.kind === 'instantiate' ? step.module : -1;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n').find((l) => l.trim().length > 0)?.trim().slice(0, 500) ?? 'unknown error';
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
