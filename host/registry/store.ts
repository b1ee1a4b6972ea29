/**
 * Where functions and their bytes live. The interface is small on purpose:
 * metadata records (one JSON document per function) and immutable,
 * content-addressed blobs. The embedded {@link FsStore} keeps both in the data
 * directory; a networked store (PostgreSQL, object storage) implements the
 * same interface without touching the runtime.
 *
 * Durability contract of FsStore: every write goes to a temporary file in the
 * same directory, is fsync'ed, renamed over the target, and the directory is
 * fsync'ed. A crash leaves either the old or the new document, never a mix;
 * blobs are written before the record that refers to them, so a record never
 * points at a missing blob.
 */
import { constants, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FUNCTION_NAME, type FunctionLimits } from '../config.js';

/** One immutable version of a function. */
export interface VersionRecord {
  /** `v1`, `v2`, … in deploy order. */
  id: string;
  digest: string;
  size: number;
  createdAt: string;
  /** The function configuration this version runs with. */
  config: FunctionConfig;
}

/** A function: its versions and aliases. */
export interface FunctionRecord {
  name: string;
  versions: VersionRecord[];
  /** Alias → version id. `latest` is what traffic is served by. */
  aliases: Record<string, string>;
  /** Next version number to assign. */
  nextVersion: number;
  createdAt: string;
  updatedAt: string;
}

/** Per-function configuration (validated by `parseFunctionConfig`). */
export interface FunctionConfig {
  /** Environment variables the guest sees. */
  env: Record<string, string>;
  /** Outbound hosts the guest may reach (`host`, `host:port`, `*.domain`). */
  allowedHosts: string[];
  /** Overrides of the host's limits for this function; absent when none are set. */
  limits?: FunctionLimits;
  /**
   * Extra ways to reach the function besides `/<name>/` and `<name>.<domain>`:
   * path prefixes (`/api/v1`, removed from the path the guest sees) and host
   * names (`api.example.com`). Absent when none are set.
   */
  routes?: string[];
  /** Who may invoke the function: `public` (the default) or callers with one of the bearer tokens. */
  invokeAuth?: InvokeAuth;
}

/** Invocation access: anyone, or only requests with `authorization: Bearer <one of the tokens>`. */
export type InvokeAuth = 'public' | { bearer: string[] };

/** A function record that exists but cannot be read (not JSON, or not a record's shape). */
export class DamagedRecordError extends Error {
  override readonly name = 'DamagedRecordError';
  constructor(
    /** The function the record is named after. */
    readonly fn: string,
    /** Where it is (for the operator). */
    readonly where: string,
    /** What is wrong with it. */
    readonly reason: string,
  ) {
    super(`the record of function ${JSON.stringify(fn)} (${where}) is damaged: ${reason}`);
  }
}

/** The storage interface the registry uses. */
export interface Store {
  /**
   * Every readable function record. A damaged one is skipped and passed to
   * `onDamaged` (when given): one bad record never hides the others.
   */
  listFunctions(onDamaged?: (e: DamagedRecordError) => void): Promise<FunctionRecord[]>;
  /** The record of `name`; undefined when there is none; throws {@link DamagedRecordError} when it cannot be read. */
  getFunction(name: string): Promise<FunctionRecord | undefined>;
  /** Replaces the record atomically. */
  putFunction(record: FunctionRecord): Promise<void>;
  deleteFunction(name: string): Promise<void>;
  /** Keeps a damaged record of `name` aside (for the operator to inspect), freeing the name; returns where it went. */
  setAsideFunction(name: string): Promise<string>;
  hasBlob(key: string): Promise<boolean>;
  getBlob(key: string): Promise<Uint8Array | undefined>;
  /** Writes an immutable blob; a no-op when it exists, unless `replace` (a damaged copy is being repaired). */
  putBlob(key: string, bytes: Uint8Array, opts?: { replace?: boolean }): Promise<void>;
  /** The digests that have blobs. */
  listDigests(): Promise<string[]>;
  /** Removes every blob of `digest` (no record refers to it any more). */
  deleteDigest(digest: string): Promise<void>;
  close(): Promise<void>;
}

const DIGEST = /^[a-f0-9]{64}$/;

/** `raw` as a function record named `name`, or why it is not one. */
export function checkFunctionRecord(raw: unknown, name: string): FunctionRecord | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not a JSON object';
  const r = raw as Partial<FunctionRecord>;
  if (r.name !== name) return `its name is ${JSON.stringify(r.name)}, not ${JSON.stringify(name)}`;
  if (!Array.isArray(r.versions) || r.versions.length === 0) return 'it has no versions';
  for (const v of r.versions as unknown[]) {
    const x = v as Partial<VersionRecord> | null;
    if (typeof x !== 'object' || x === null || typeof x.id !== 'string' || typeof x.digest !== 'string' || !DIGEST.test(x.digest) || typeof x.size !== 'number' || typeof x.config !== 'object' || x.config === null) {
      return `a version is malformed: ${JSON.stringify(v)?.slice(0, 200)}`;
    }
  }
  if (typeof r.aliases !== 'object' || r.aliases === null || Object.values(r.aliases).some((a) => typeof a !== 'string')) return 'its aliases are malformed';
  if (typeof r.nextVersion !== 'number') return 'its nextVersion is missing';
  return r as FunctionRecord;
}

/** Blob keys are `digest/name` paths made of safe characters only. */
const BLOB_KEY = /^[a-f0-9]{64}(\/[a-zA-Z0-9._-]+)*$/;

/** The embedded default store: files in a data directory. */
export class FsStore implements Store {
  private constructor(readonly dir: string) {}

  /** Opens (and creates) a store in `dir`. */
  static async open(dir: string): Promise<FsStore> {
    await fs.mkdir(join(dir, 'functions'), { recursive: true, mode: 0o700 });
    await fs.mkdir(join(dir, 'blobs'), { recursive: true, mode: 0o700 });
    // Remove temp files an interrupted write left behind.
    for (const sub of ['functions', 'blobs']) await removeTemps(join(dir, sub));
    return new FsStore(dir);
  }

  async listFunctions(onDamaged?: (e: DamagedRecordError) => void): Promise<FunctionRecord[]> {
    const names = (await fs.readdir(join(this.dir, 'functions'))).filter((f) => f.endsWith('.json'));
    const out: FunctionRecord[] = [];
    for (const f of names.sort()) {
      const name = f.slice(0, -5);
      if (!FUNCTION_NAME.test(name)) {
        onDamaged?.(new DamagedRecordError(name, join(this.dir, 'functions', f), 'its file name is not a function name'));
        continue;
      }
      try {
        const rec = await this.getFunction(name);
        if (rec) out.push(rec);
      } catch (e) {
        if (!(e instanceof DamagedRecordError)) throw e;
        onDamaged?.(e);
      }
    }
    return out;
  }

  async getFunction(name: string): Promise<FunctionRecord | undefined> {
    const path = this.fnPath(name);
    let text: string;
    try {
      text = await fs.readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new DamagedRecordError(name, path, `not valid JSON (${(e as Error).message})`);
    }
    const rec = checkFunctionRecord(raw, name);
    if (typeof rec === 'string') throw new DamagedRecordError(name, path, rec);
    return rec;
  }

  async setAsideFunction(name: string): Promise<string> {
    const path = this.fnPath(name);
    const aside = `${path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await fs.rename(path, aside);
    await fsyncDir(join(this.dir, 'functions'));
    return aside;
  }

  async putFunction(record: FunctionRecord): Promise<void> {
    await atomicWrite(this.fnPath(record.name), JSON.stringify(record, null, 2));
  }

  async deleteFunction(name: string): Promise<void> {
    await fs.rm(this.fnPath(name), { force: true });
    await fsyncDir(join(this.dir, 'functions'));
  }

  async hasBlob(key: string): Promise<boolean> {
    try {
      await fs.access(this.blobPath(key), constants.R_OK);
      return true;
    } catch {
      return false;
    }
  }

  async getBlob(key: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await fs.readFile(this.blobPath(key)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async putBlob(key: string, bytes: Uint8Array, opts: { replace?: boolean } = {}): Promise<void> {
    if (!opts.replace && (await this.hasBlob(key))) return;
    const path = this.blobPath(key);
    const parent = join(path, '..');
    const created = await fs.mkdir(parent, { recursive: true, mode: 0o700 });
    // A new directory's entry is durable only once its parent is fsync'ed.
    if (created !== undefined) {
      for (let d = parent; d !== join(d, '..'); d = join(d, '..')) {
        await fsyncDir(join(d, '..'));
        if (d === created) break;
      }
    }
    await atomicWrite(path, bytes);
  }

  async listDigests(): Promise<string[]> {
    const entries = await fs.readdir(join(this.dir, 'blobs'), { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && DIGEST.test(e.name)).map((e) => e.name);
  }

  async deleteDigest(digest: string): Promise<void> {
    if (!DIGEST.test(digest)) throw new Error(`invalid digest ${JSON.stringify(digest)}`);
    // Renamed out of the way first, so a crash mid-removal never leaves a half-deleted set under its name.
    const dir = join(this.dir, 'blobs', digest);
    const gone = join(this.dir, 'blobs', `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await fs.rename(dir, gone);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    await fsyncDir(join(this.dir, 'blobs'));
    await fs.rm(gone, { recursive: true, force: true });
  }

  async close(): Promise<void> {}

  private fnPath(name: string): string {
    if (!FUNCTION_NAME.test(name)) throw new Error(`invalid function name ${JSON.stringify(name)}`);
    return join(this.dir, 'functions', `${name}.json`);
  }

  private blobPath(key: string): string {
    if (!BLOB_KEY.test(key)) throw new Error(`invalid blob key ${JSON.stringify(key)}`);
    return join(this.dir, 'blobs', ...key.split('/'));
  }
}

/** Writes a file atomically: temp file, fsync, rename, fsync the directory. */
export async function atomicWrite(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = join(path, '..');
  const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
  const fh = await fs.open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dir);
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function removeTemps(dir: string): Promise<void> {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.name.startsWith('.tmp-')) await fs.rm(p, { force: true, recursive: true });
    else if (entry.isDirectory()) await removeTemps(p);
  }
}
