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
import type { FunctionLimits } from '../config.js';

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

/** The storage interface the registry uses. */
export interface Store {
  /** Every function record. */
  listFunctions(): Promise<FunctionRecord[]>;
  getFunction(name: string): Promise<FunctionRecord | undefined>;
  /** Replaces the record atomically. */
  putFunction(record: FunctionRecord): Promise<void>;
  deleteFunction(name: string): Promise<void>;
  hasBlob(key: string): Promise<boolean>;
  getBlob(key: string): Promise<Uint8Array | undefined>;
  /** Writes an immutable blob; a no-op when it exists. */
  putBlob(key: string, bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
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

  async listFunctions(): Promise<FunctionRecord[]> {
    const names = (await fs.readdir(join(this.dir, 'functions'))).filter((f) => f.endsWith('.json'));
    const out: FunctionRecord[] = [];
    for (const f of names.sort()) {
      const rec = await this.getFunction(f.slice(0, -5));
      if (rec) out.push(rec);
    }
    return out;
  }

  async getFunction(name: string): Promise<FunctionRecord | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.fnPath(name), 'utf8')) as FunctionRecord;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
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

  async putBlob(key: string, bytes: Uint8Array): Promise<void> {
    if (await this.hasBlob(key)) return;
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

  async close(): Promise<void> {}

  private fnPath(name: string): string {
    if (!/^[a-z][a-z0-9-]{0,63}$/.test(name)) throw new Error(`invalid function name ${JSON.stringify(name)}`);
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
    if (entry.name.startsWith('.tmp-')) await fs.rm(p, { force: true });
    else if (entry.isDirectory()) await removeTemps(p);
  }
}
