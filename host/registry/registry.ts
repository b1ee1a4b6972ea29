/**
 * Functions, their versions, and the compiled components behind them. Deploy
 * is content-addressed: the same bytes are stored, transpiled and compiled
 * once; a re-deploy of known bytes only records a new version.
 *
 * Every deploy (and every configuration change) adds an immutable version;
 * the alias `latest` names the one that serves traffic. Promote and rollback
 * move the alias: the target's component is loaded into the module cache
 * first (keyed by digest, so a cached one costs nothing), then the record is
 * swapped in one step, so requests see either the old or the new version and
 * never a cold start caused by the switch itself.
 */
import { MicronError } from '../errors.js';
import { checkFunctionName, parseFunctionConfig } from '../config.js';
import { type ArtifactMeta, type Compiler, type LoadedComponent, sha256 } from '../compile/compiler.js';
import type { ModuleCache } from '../compile/module-cache.js';
import { DamagedRecordError, type FunctionConfig, type FunctionRecord, type Store, type VersionRecord } from './store.js';

/** Where the registry reports what it found wrong in the store (the host's logger). */
export interface RegistryLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A function as the API shows it. */
export interface FunctionInfo {
  name: string;
  /** The version serving traffic (in a {@link DeployResult}: the version this deploy created). */
  version: string;
  /** Alias → version id; `latest` serves traffic. */
  aliases: Record<string, string>;
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
  /** True when `latest` now points at the new version (false for `?promote=false`). */
  promoted: boolean;
}

/** One version as the API lists it. */
export interface VersionInfo extends VersionRecord {
  /** The aliases that point at this version. */
  aliases: string[];
}

/** What promote and rollback report. */
export interface PromoteResult extends FunctionInfo {
  /** The version `latest` pointed at before. */
  previous: string;
  /** True when the component had to be loaded (it was not cached) before the switch. */
  loaded: boolean;
}

/** Options of a deploy. */
export interface DeployOptions {
  /** Move `latest` to the new version (default true; the first version of a function is always promoted). */
  promote?: boolean;
}

/** What a route in a function's configuration resolves a request to. */
export interface RouteMatch {
  name: string;
  /** The path the guest sees (the route's prefix removed for a path route). */
  pathWithQuery: string;
}

/** A function resolved for a request. */
export interface ResolvedFunction {
  readonly record: FunctionRecord;
  readonly version: VersionRecord;
  readonly loaded: LoadedComponent;
  /** True when the component had to be compiled for this request. */
  readonly cold: boolean;
  /** For a cold one: how long loading it took, ms (the request waited that long before it ran). */
  readonly loadMs?: number;
}

/** A function and the version `latest` points at, resolved once per change rather than per request. */
interface Entry {
  record: FunctionRecord;
  current: VersionRecord;
  /** The last warm resolution, handed out again while its component stays cached (no object per request). */
  warm?: ResolvedFunction;
}

/** The registry of functions. */
export class Registry {
  private readonly entries = new Map<string, Entry>();
  /** Extra routes from the serving versions' configuration: host name → function, path prefix → function. */
  private hostRoutes = new Map<string, string>();
  private prefixRoutes = new Map<string, string>();
  private readonly removedListeners: ((name: string) => void)[] = [];
  private readonly metas = new Map<string, ArtifactMeta>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private closedAt = false;
  /** Functions whose stored record could not be read at start: not served until deployed again or removed. */
  private readonly damaged = new Map<string, DamagedRecordError>();

  constructor(
    private readonly store: Store,
    private readonly compiler: Compiler,
    private readonly cache: ModuleCache,
    private readonly log?: RegistryLog,
  ) {}

  /**
   * Loads every function record from the store. A damaged record is
   * reported and skipped: the other functions are served. With every record
   * readable, artifact sets no version refers to (a removed function's from
   * before removal freed them, an interrupted deploy's) are removed.
   */
  async init(): Promise<void> {
    for (const rec of await this.store.listFunctions((e) => this.damaged.set(e.fn, e))) this.entries.set(rec.name, { record: rec, current: currentOf(rec) });
    this.rebuildRoutes();
    for (const d of this.damaged.values()) {
      this.log?.error('function record is damaged: the function is not served', {
        function: d.fn,
        file: d.where,
        reason: d.reason,
        fix: 'repair the file and restart, or deploy the function again or remove it (the damaged record is then kept aside)',
      });
    }
    // A damaged record may be the only one referring to some artifacts: keep everything until it is dealt with.
    if (this.damaged.size > 0) return;
    const unused = (await this.store.listDigests()).filter((d) => !this.inUse(d));
    for (const d of unused) await this.store.deleteDigest(d);
    if (unused.length > 0) this.log?.info('removed stored artifacts no function version uses', { digests: unused.length });
  }

  /**
   * Deploys `bytes` as a new version of `name`; it serves traffic unless
   * `opts.promote` is false. Without a `config` the version keeps the
   * serving version's configuration (env, allow-list, limits, routes,
   * invokeAuth): redeploying code never drops them; a first version gets the
   * defaults.
   */
  deploy(name: string, bytes: Uint8Array, config: FunctionConfig | undefined, opts: DeployOptions = {}): Promise<DeployResult> {
    checkFunctionName(name);
    return this.serialized(name, () => this.deployLocked(name, bytes, config, opts.promote ?? true));
  }

  private deployLocked(name: string, bytes: Uint8Array, config: FunctionConfig | undefined, promote: boolean): Promise<DeployResult> {
    const digest = sha256(bytes);
    // Under the digest's lock until the version is recorded: removing another function cannot free these artifacts meanwhile.
    return this.serialized(digestLock(digest), () => this.deployDigestLocked(name, digest, bytes, config, promote));
  }

  private async deployDigestLocked(name: string, digest: string, bytes: Uint8Array, config: FunctionConfig | undefined, promote: boolean): Promise<DeployResult> {
    let meta = await this.meta(digest);
    let reused = true;
    let transpileMs = 0;
    let instrumentMs = 0;
    let files: Map<string, Uint8Array> | undefined;
    if (meta) {
      // Known bytes: what is stored must still be what was stored, or this deploy repairs it.
      const stored = await this.readArtifacts(digest, meta);
      if ('damage' in stored) {
        this.log?.warn('stored artifacts are damaged: building them again', { function: name, digest, reason: stored.damage });
        this.cache.delete(digest);
        this.metas.delete(digest);
        meta = undefined;
      } else {
        files = stored.files;
      }
    }
    if (!meta) {
      reused = false;
      const built = await this.compiler.build(bytes);
      const hashes: Record<string, string> = {};
      for (const [file, data] of built.files) hashes[file] = sha256(data);
      // Blobs first, meta last: meta's presence marks a complete set of artifacts. Written over any
      // copies already there: a set without meta is an interrupted deploy's, or a damaged one's.
      await this.store.putBlob(`${digest}/component.wasm`, bytes, { replace: true });
      for (const [file, data] of built.files) await this.store.putBlob(`${digest}/${file}`, data, { replace: true });
      meta = { ...built.meta, files: hashes };
      await this.store.putBlob(`${digest}/meta.json`, new TextEncoder().encode(JSON.stringify(meta)), { replace: true });
      this.metas.set(digest, meta);
      files = built.files;
      transpileMs = meta.transpileMs;
      instrumentMs = meta.instrumentMs;
    }
    const m = meta;
    let loaded: LoadedComponent;
    let added: Awaited<ReturnType<Registry['addVersion']>>;
    try {
      ({ loaded } = await this.cache.getOrLoad(digest, () => this.compiler.load(bytes, m, (n) => files!.get(n))));
      added = await this.addVersion(name, digest, bytes.length, config, promote);
    } catch (e) {
      // Refused after its artifacts were stored (a route conflict, say): what no version uses is not kept.
      await this.freeIfUnused(digest);
      throw e;
    }
    const { record, version, promoted } = added;
    return {
      ...this.info(record, version, meta),
      transpileMs,
      compileMs: reused ? 0 : loaded.compileMs,
      instrumentMs,
      reused,
      instanceMode: loaded.command ? 'command' : loaded.prepared.mode,
      promoted,
    };
  }

  /** Appends a version record (its artifacts are stored and its component cached) and persists the function. */
  private async addVersion(
    name: string,
    digest: string,
    size: number,
    given: FunctionConfig | undefined,
    promote: boolean,
  ): Promise<{ record: FunctionRecord; version: VersionRecord; promoted: boolean }> {
    const now = new Date().toISOString();
    const prev = this.entries.get(name)?.record ?? (await this.storedRecord(name));
    const n = prev?.nextVersion ?? 1;
    const config = given ?? (prev ? currentOf(prev).config : parseFunctionConfig(undefined));
    const version: VersionRecord = { id: `v${n}`, digest, size, createdAt: now, config };
    const promoted = promote || !prev?.aliases.latest;
    const record: FunctionRecord = {
      name,
      versions: [...(prev?.versions ?? []), version],
      aliases: promoted ? { ...(prev?.aliases ?? {}), latest: version.id } : { ...prev!.aliases },
      nextVersion: n + 1,
      createdAt: prev?.createdAt ?? now,
      updatedAt: now,
    };
    await this.commit(record);
    return { record, version, promoted };
  }

  /**
   * Creates a new version of `name` with the same component and the
   * configuration `update` returns for the serving one (a config change is a
   * version: it can be rolled back like a deploy).
   */
  reconfigure(name: string, update: (current: FunctionConfig) => FunctionConfig, opts: DeployOptions = {}): Promise<DeployResult> {
    checkFunctionName(name);
    return this.serialized(name, async () => {
      const base = this.entry(name).current;
      const config = update(base.config);
      const meta = await this.meta(base.digest);
      const cached = this.cache.get(base.digest);
      const { record, version, promoted } = await this.addVersion(name, base.digest, base.size, config, opts.promote ?? true);
      return {
        ...this.info(record, version, meta),
        transpileMs: 0,
        compileMs: 0,
        instrumentMs: 0,
        reused: true,
        instanceMode: !cached ? 'fresh' : cached.command ? 'command' : cached.prepared.mode,
        promoted,
      };
    });
  }

  /** Every version of `name`, oldest first. */
  versions(name: string): VersionInfo[] {
    checkFunctionName(name);
    const { record } = this.entry(name);
    return record.versions.map((v) => ({
      ...v,
      aliases: Object.entries(record.aliases)
        .filter(([, id]) => id === v.id)
        .map(([alias]) => alias),
    }));
  }

  /** Points `latest` at version `id`, loading its component first when it is not cached. */
  promote(name: string, id: string): Promise<PromoteResult> {
    checkFunctionName(name);
    return this.serialized(name, async () => {
      const { record } = this.entry(name);
      return this.switchTo(record, this.version(record, id));
    });
  }

  /** Points `latest` at version `id`, or by default at the version created before the serving one. */
  rollback(name: string, id?: string): Promise<PromoteResult> {
    checkFunctionName(name);
    return this.serialized(name, async () => {
      const { record, current } = this.entry(name);
      if (id !== undefined) return this.switchTo(record, this.version(record, id));
      const target = record.versions[record.versions.indexOf(current) - 1];
      if (!target) throw new MicronError('conflict', `${name} ${current.id} is its oldest version; there is nothing to roll back to`);
      return this.switchTo(record, target);
    });
  }

  /** Deletes one version. No alias may point at it. */
  deleteVersion(name: string, id: string): Promise<void> {
    checkFunctionName(name);
    return this.serialized(name, async () => {
      const { record } = this.entry(name);
      const v = this.version(record, id);
      const aliases = Object.entries(record.aliases).filter(([, to]) => to === id);
      if (aliases.length > 0) {
        throw new MicronError('conflict', `version ${id} of ${name} is aliased as ${aliases.map(([a]) => a).join(', ')}; promote another version first`);
      }
      await this.commit({ ...record, versions: record.versions.filter((x) => x !== v), updatedAt: new Date().toISOString() });
      await this.dropUnused([v.digest]);
    });
  }

  private version(record: FunctionRecord, id: string): VersionRecord {
    const v = record.versions.find((x) => x.id === id);
    if (!v) throw new MicronError('version_not_found', `function ${JSON.stringify(record.name)} has no version ${JSON.stringify(id)}`);
    return v;
  }

  private async switchTo(record: FunctionRecord, target: VersionRecord): Promise<PromoteResult> {
    const previous = record.aliases.latest ?? target.id;
    const meta = await this.meta(target.digest);
    // Warm the cache before the switch: traffic never waits on a compile caused by it.
    let loaded = false;
    if (!this.cache.get(target.digest)) loaded = (await this.loadStored(record.name, target)).cold;
    if (previous === target.id) return { ...this.info(record, target, meta), previous, loaded };
    const next: FunctionRecord = { ...record, aliases: { ...record.aliases, latest: target.id }, updatedAt: new Date().toISOString() };
    await this.commit(next);
    return { ...this.info(next, target, meta), previous, loaded };
  }

  /** Persists a record, then makes it visible to traffic: the swap is one Map write. */
  private async commit(record: FunctionRecord): Promise<void> {
    const current = currentOf(record);
    this.checkRoutes(record.name, current.config);
    await this.store.putFunction(record);
    this.entries.set(record.name, { record, current });
    this.rebuildRoutes();
  }

  /** Throws `conflict` when another function's serving version already claims one of `config.routes`. */
  private checkRoutes(name: string, config: FunctionConfig): void {
    for (const r of config.routes ?? []) {
      const owner = r.startsWith('/') ? this.prefixRoutes.get(r) : this.hostRoutes.get(r);
      if (owner !== undefined && owner !== name) throw new MicronError('conflict', `route ${JSON.stringify(r)} is already served by function ${JSON.stringify(owner)}`);
      // A path route takes precedence over `/<name>/` routing: it may not shadow another function's name.
      const first = r.startsWith('/') ? r.slice(1).split('/')[0]! : undefined;
      if (first !== undefined && first !== name && this.entries.has(first)) {
        throw new MicronError('conflict', `route ${JSON.stringify(r)} would shadow function ${JSON.stringify(first)} (served at /${first}/)`);
      }
    }
  }

  private rebuildRoutes(): void {
    const hosts = new Map<string, string>();
    const prefixes = new Map<string, string>();
    for (const [name, { current }] of this.entries) {
      for (const r of current.config.routes ?? []) (r.startsWith('/') ? prefixes : hosts).set(r, name);
    }
    this.hostRoutes = hosts;
    this.prefixRoutes = prefixes;
  }

  /**
   * Matches a request against the routes of the serving versions'
   * configuration: an exact host name (port ignored) first, then the longest
   * path prefix on a segment boundary. `target` is the request target
   * (`/path?query`), `mount` the prefix the public app is mounted under.
   * Returns at once when no function declares routes.
   */
  matchRoute(host: string | undefined, target: string, mount = ''): RouteMatch | undefined {
    if (this.hostRoutes.size === 0 && this.prefixRoutes.size === 0) return undefined;
    const q = target.indexOf('?');
    const fullPath = q === -1 ? target : target.slice(0, q);
    const search = q === -1 ? '' : target.slice(q);
    const path = mount && fullPath.startsWith(mount) ? fullPath.slice(mount.length) || '/' : fullPath;
    if (host !== undefined && this.hostRoutes.size > 0) {
      const name = this.hostRoutes.get(hostName(host));
      if (name !== undefined) return { name, pathWithQuery: path + search };
    }
    for (let end = path.length; end > 0; end = path.lastIndexOf('/', end - 1)) {
      const name = this.prefixRoutes.get(path.slice(0, end));
      if (name !== undefined) {
        const rest = path.slice(end);
        if (rest === '' || rest.startsWith('/')) return { name, pathWithQuery: (rest || '/') + search };
      }
    }
    return undefined;
  }

  private entry(name: string): Entry {
    const e = this.entries.get(name);
    if (!e) throw new MicronError('function_not_found', `no function named ${JSON.stringify(name)}`);
    return e;
  }

  /** True when a version of some function uses the artifacts of `digest`. */
  private inUse(digest: string): boolean {
    for (const e of this.entries.values()) for (const v of e.record.versions) if (v.digest === digest) return true;
    return false;
  }

  /**
   * Frees what no version of any function uses any more: the cached
   * component, and the stored artifacts (under the digest's lock, so a
   * deploy of the same bytes either finishes first and keeps them, or
   * stores them again).
   */
  private async dropUnused(digests: string[]): Promise<void> {
    for (const d of new Set(digests)) {
      if (!this.inUse(d)) await this.serialized(digestLock(d), () => this.freeIfUnused(d));
    }
  }

  /** With the digest's lock held: removes its cached component, description and stored artifacts unless a version uses them. */
  private async freeIfUnused(digest: string): Promise<void> {
    if (this.inUse(digest)) return;
    this.cache.delete(digest);
    this.metas.delete(digest);
    await this.store.deleteDigest(digest);
  }

  /** Removes a function and all its versions. Returns false when it did not exist. */
  remove(name: string): Promise<boolean> {
    checkFunctionName(name);
    return this.serialized(name, async () => {
      const rec = this.entries.get(name)?.record;
      if (!rec) {
        if (!this.damaged.has(name)) return false;
        // A damaged record: kept aside rather than deleted (it is all that is left of the function's history).
        await this.setAside(name);
        return true;
      }
      await this.store.deleteFunction(name);
      this.entries.delete(name);
      this.rebuildRoutes();
      await this.dropUnused(rec.versions.map((v) => v.digest));
      for (const l of this.removedListeners) l(name);
      return true;
    });
  }

  /** Calls `listener` after a function has been removed (records and metrics forget it). */
  onRemoved(listener: (name: string) => void): void {
    this.removedListeners.push(listener);
  }

  /** Number of functions. */
  get size(): number {
    return this.entries.size;
  }

  /** Every function, sorted by name. */
  async list(): Promise<FunctionInfo[]> {
    const out: FunctionInfo[] = [];
    for (const { record, current } of [...this.entries.values()].sort((a, b) => a.record.name.localeCompare(b.record.name))) {
      out.push(this.info(record, current, await this.meta(current.digest)));
    }
    return out;
  }

  /** One function, or undefined. */
  async get(name: string): Promise<FunctionInfo | undefined> {
    const e = this.entries.get(name);
    if (!e) return undefined;
    return this.info(e.record, e.current, await this.meta(e.current.digest));
  }

  /** True when a function with this name exists. */
  has(name: string): boolean {
    return this.entries.has(name);
  }

  /**
   * Resolves a function for a request: the version `latest` points at, its
   * component compiled (from cache, or loaded now: a cold start).
   */
  resolve(name: string): ResolvedFunction | Promise<ResolvedFunction> | undefined {
    const e = this.entries.get(name);
    if (!e) return undefined;
    const { record, current: version } = e;
    const hit = this.cache.get(version.digest);
    if (hit) {
      const warm = e.warm;
      return warm !== undefined && warm.loaded === hit ? warm : (e.warm = { record, version, loaded: hit, cold: false });
    }
    const t0 = performance.now();
    return this.loadStored(name, version).then(({ loaded, cold }) => ({ record, version, loaded, cold, ...(cold ? { loadMs: performance.now() - t0 } : {}) }));
  }

  private info(rec: FunctionRecord, v: VersionRecord, meta: ArtifactMeta | undefined): FunctionInfo {
    return {
      name: rec.name,
      version: v.id,
      aliases: rec.aliases,
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

  /** The artifacts' description; undefined when it is missing or unreadable (the set is then incomplete or damaged). */
  private async meta(digest: string): Promise<ArtifactMeta | undefined> {
    const hit = this.metas.get(digest);
    if (hit) return hit;
    const raw = await this.store.getBlob(`${digest}/meta.json`);
    if (!raw) return undefined;
    let meta: ArtifactMeta;
    try {
      meta = JSON.parse(new TextDecoder().decode(raw)) as ArtifactMeta;
    } catch {
      return undefined;
    }
    if (typeof meta !== 'object' || meta === null || !Array.isArray(meta.instrumented)) return undefined;
    this.metas.set(digest, meta);
    return meta;
  }

  /**
   * The stored component and its instrumented modules, checked against their
   * digests (modules stored before their digests were recorded are checked
   * to be valid wasm), or what is wrong with them.
   */
  private async readArtifacts(digest: string, meta: ArtifactMeta): Promise<{ component: Uint8Array; files: Map<string, Uint8Array> } | { damage: string }> {
    const component = await this.store.getBlob(`${digest}/component.wasm`);
    if (!component) return { damage: 'component.wasm is missing' };
    if (sha256(component) !== digest) return { damage: 'component.wasm does not match its digest' };
    const files = new Map<string, Uint8Array>();
    for (const m of meta.instrumented) {
      const file = `module-${m}.wasm`;
      const f = await this.store.getBlob(`${digest}/${file}`);
      if (!f) return { damage: `${file} is missing` };
      const want = meta.files?.[file];
      if (want ? sha256(f) !== want : !WebAssembly.validate(f as Uint8Array<ArrayBuffer>)) return { damage: `${file} is damaged` };
      files.set(file, f);
    }
    return { component, files };
  }

  /** Loads a stored version's component into the module cache (a cold start), after checking its artifacts. */
  private async loadStored(name: string, v: VersionRecord): Promise<{ loaded: LoadedComponent; cold: boolean }> {
    const meta = await this.meta(v.digest);
    const stored = meta ? await this.readArtifacts(v.digest, meta) : { damage: 'meta.json is missing or unreadable' };
    if ('damage' in stored) {
      throw new MicronError('internal', `the stored artifacts of ${name} ${v.id} are damaged (${stored.damage}); deploy its component again to repair them`);
    }
    return this.cache.getOrLoad(v.digest, () => this.compiler.load(stored.component, meta!, (n) => stored.files.get(n)));
  }

  /** The stored record of `name`; a damaged one is kept aside (reported) and the name is free. */
  private async storedRecord(name: string): Promise<FunctionRecord | undefined> {
    try {
      return await this.store.getFunction(name);
    } catch (e) {
      if (!(e instanceof DamagedRecordError)) throw e;
      await this.setAside(name);
      return undefined;
    }
  }

  private async setAside(name: string): Promise<void> {
    const kept = await this.store.setAsideFunction(name);
    this.damaged.delete(name);
    this.log?.warn('a damaged function record was set aside', { function: name, keptAt: kept });
  }

  /** The host closed: every later change is refused (the data dir's lock is released, another host may own it). */
  close(): void {
    this.closedAt = true;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.closedAt;
  }

  private serialized<T>(name: string, f: () => Promise<T>): Promise<T> {
    if (this.closedAt) return Promise.reject(new MicronError('host_closed', 'this host is closed; it changes nothing any more'));
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

/** The lock key of a digest's artifacts (function names cannot contain `:`). */
const digestLock = (digest: string): string => `digest:${digest}`;

/** The version `latest` points at (the newest one if the alias is missing). */
function currentOf(rec: FunctionRecord): VersionRecord {
  const id = rec.aliases.latest;
  const v = rec.versions.find((x) => x.id === id) ?? rec.versions[rec.versions.length - 1];
  if (!v) throw new MicronError('internal', `function ${rec.name} has no versions`);
  return v;
}

/** A Host header lower-cased and without its port. */
export function hostName(host: string): string {
  let end = host.length;
  for (let i = host.length - 1; i >= 0; i--) {
    const c = host.charCodeAt(i);
    if (c === 58 /* : */) {
      if (i < host.length - 1) end = i;
      break;
    }
    if (c < 48 || c > 57) break;
  }
  const h = end === host.length ? host : host.slice(0, end);
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    if (c >= 65 && c <= 90) return h.toLowerCase();
  }
  return h;
}
