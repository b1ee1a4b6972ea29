/**
 * Functions, their versions, and the compiled components behind them. Deploy
 * is content-addressed: the same bytes are stored, transpiled and compiled
 * once; a re-deploy of known bytes only records a new version.
 */
import { MicronError } from '../errors.js';
import { checkFunctionName } from '../config.js';
import { type ArtifactMeta, type Compiler, type LoadedComponent, sha256 } from '../compile/compiler.js';
import type { ModuleCache } from '../compile/module-cache.js';
import type { FunctionConfig, FunctionRecord, Store, VersionRecord } from './store.js';

/** A function as the API shows it. */
export interface FunctionInfo {
  name: string;
  /** The version serving traffic. */
  version: string;
  digest: string;
  size: number;
  imports: string[];
  exports: string[];
  config: FunctionConfig;
  versions: number;
  createdAt: string;
  updatedAt: string;
}

/** What a deploy reports. */
export interface DeployResult extends FunctionInfo {
  /** Milliseconds jco took to transpile (0 when the bytes were already known). */
  transpileMs: number;
  /** Milliseconds spent compiling the core modules. */
  compileMs: number;
  /** Milliseconds spent instrumenting modules that can wait for I/O. */
  instrumentMs: number;
  /** True when these bytes were already stored and transpiled. */
  reused: boolean;
  /**
   * How requests get an instance: `reused` (an instance reset to its initial
   * state), `pooled-memory` (a new instance in a recycled memory), `fresh`
   * (every core instance created anew), or `command` (CGI command runner).
   */
  instanceMode: 'reused' | 'pooled-memory' | 'fresh' | 'command';
}

/** A function resolved for a request. */
export interface ResolvedFunction {
  record: FunctionRecord;
  version: VersionRecord;
  loaded: LoadedComponent;
  /** True when the component had to be compiled for this request. */
  cold: boolean;
}

/** The registry of functions. */
export class Registry {
  private readonly records = new Map<string, FunctionRecord>();
  private readonly metas = new Map<string, ArtifactMeta>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: Store,
    private readonly compiler: Compiler,
    private readonly cache: ModuleCache,
  ) {}

  /** Loads every function record from the store. */
  async init(): Promise<void> {
    for (const rec of await this.store.listFunctions()) this.records.set(rec.name, rec);
  }

  /** Deploys `bytes` as a new version of `name` and makes it serve traffic. */
  deploy(name: string, bytes: Uint8Array, config: FunctionConfig): Promise<DeployResult> {
    checkFunctionName(name);
    return this.serialized(name, () => this.deployLocked(name, bytes, config));
  }

  private async deployLocked(name: string, bytes: Uint8Array, config: FunctionConfig): Promise<DeployResult> {
    const digest = sha256(bytes);
    let meta = await this.meta(digest);
    let reused = true;
    let transpileMs = 0;
    let instrumentMs = 0;
    if (!meta) {
      reused = false;
      const built = await this.compiler.build(bytes);
      // Blobs first, meta last: meta's presence marks a complete set of artifacts.
      await this.store.putBlob(`${digest}/component.wasm`, bytes);
      for (const [file, data] of built.files) await this.store.putBlob(`${digest}/${file}`, data);
      await this.store.putBlob(`${digest}/meta.json`, new TextEncoder().encode(JSON.stringify(built.meta)));
      meta = built.meta;
      this.metas.set(digest, meta);
      transpileMs = meta.transpileMs;
      instrumentMs = meta.instrumentMs;
    }
    const { loaded } = await this.cache.getOrLoad(digest, () => this.loadComponent(digest, meta!, bytes));
    const now = new Date().toISOString();
    const prev = this.records.get(name) ?? (await this.store.getFunction(name));
    const n = prev?.nextVersion ?? 1;
    const version: VersionRecord = { id: `v${n}`, digest, size: bytes.length, createdAt: now, config };
    const record: FunctionRecord = {
      name,
      versions: [...(prev?.versions ?? []), version],
      aliases: { ...(prev?.aliases ?? {}), latest: version.id },
      nextVersion: n + 1,
      createdAt: prev?.createdAt ?? now,
      updatedAt: now,
    };
    await this.store.putFunction(record);
    this.records.set(name, record);
    return {
      ...this.info(record, version, meta),
      transpileMs,
      compileMs: reused ? 0 : loaded.compileMs,
      instrumentMs,
      reused,
      instanceMode: loaded.command ? 'command' : loaded.prepared.mode,
    };
  }

  /** Removes a function and all its versions. Returns false when it did not exist. */
  remove(name: string): Promise<boolean> {
    checkFunctionName(name);
    return this.serialized(name, async () => {
      const rec = this.records.get(name);
      if (!rec) return false;
      await this.store.deleteFunction(name);
      this.records.delete(name);
      const stillUsed = new Set([...this.records.values()].flatMap((r) => r.versions.map((v) => v.digest)));
      for (const v of rec.versions) if (!stillUsed.has(v.digest)) this.cache.delete(v.digest);
      return true;
    });
  }

  /** Every function, sorted by name. */
  async list(): Promise<FunctionInfo[]> {
    const out: FunctionInfo[] = [];
    for (const rec of [...this.records.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      const v = this.current(rec);
      out.push(this.info(rec, v, await this.meta(v.digest)));
    }
    return out;
  }

  /** One function, or undefined. */
  async get(name: string): Promise<FunctionInfo | undefined> {
    const rec = this.records.get(name);
    if (!rec) return undefined;
    const v = this.current(rec);
    return this.info(rec, v, await this.meta(v.digest));
  }

  /** True when a function with this name exists. */
  has(name: string): boolean {
    return this.records.has(name);
  }

  /**
   * Resolves a function for a request: the version `latest` points at, its
   * component compiled (from cache, or loaded now: a cold start).
   */
  resolve(name: string): ResolvedFunction | Promise<ResolvedFunction> | undefined {
    const record = this.records.get(name);
    if (!record) return undefined;
    const version = this.current(record);
    const hit = this.cache.get(version.digest);
    if (hit) return { record, version, loaded: hit, cold: false };
    return (async () => {
      const meta = await this.meta(version.digest);
      if (!meta) throw new MicronError('internal', `artifacts of ${name} ${version.id} are missing`);
      const bytes = await this.store.getBlob(`${version.digest}/component.wasm`);
      if (!bytes) throw new MicronError('internal', `component of ${name} ${version.id} is missing`);
      const { loaded, cold } = await this.cache.getOrLoad(version.digest, () => this.loadComponent(version.digest, meta, bytes));
      return { record, version, loaded, cold };
    })();
  }

  private current(rec: FunctionRecord): VersionRecord {
    const id = rec.aliases.latest;
    const v = rec.versions.find((x) => x.id === id) ?? rec.versions[rec.versions.length - 1];
    if (!v) throw new MicronError('internal', `function ${rec.name} has no versions`);
    return v;
  }

  private info(rec: FunctionRecord, v: VersionRecord, meta: ArtifactMeta | undefined): FunctionInfo {
    return {
      name: rec.name,
      version: v.id,
      digest: v.digest,
      size: v.size,
      imports: meta?.imports ?? [],
      exports: meta?.exports ?? [],
      config: v.config,
      versions: rec.versions.length,
      createdAt: rec.createdAt,
      updatedAt: rec.updatedAt,
    };
  }

  private async meta(digest: string): Promise<ArtifactMeta | undefined> {
    const hit = this.metas.get(digest);
    if (hit) return hit;
    const raw = await this.store.getBlob(`${digest}/meta.json`);
    if (!raw) return undefined;
    const meta = JSON.parse(new TextDecoder().decode(raw)) as ArtifactMeta;
    this.metas.set(digest, meta);
    return meta;
  }

  private async loadComponent(digest: string, meta: ArtifactMeta, bytes: Uint8Array): Promise<LoadedComponent> {
    const files = new Map<string, Uint8Array>();
    for (const m of meta.instrumented) {
      const f = await this.store.getBlob(`${digest}/module-${m}.wasm`);
      if (f) files.set(`module-${m}.wasm`, f);
    }
    return this.compiler.load(bytes, meta, (n) => files.get(n));
  }

  private serialized<T>(name: string, f: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.then(f, f);
    const tail = next.catch(() => undefined);
    this.locks.set(name, tail);
    void tail.then(() => {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    });
    return next;
  }
}
