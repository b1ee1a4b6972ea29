/**
 * The composition root: `createHost()` wires the store, the compiler, the
 * module cache, the runtime and the two Hono apps. Nothing else constructs
 * these parts.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import { WitRegistry } from './abi/wit.js';
import { Compiler } from './compile/compiler.js';
import { ModuleCache, type ModuleCacheStats } from './compile/module-cache.js';
import { parseFunctionConfig, resolveLimits, type HostLimits, type HostOptions } from './config.js';
import { errorBodyJson, MicronError } from './errors.js';
import { Logger, parseLogLevel } from './observe/logger.js';
import { Observer, resolveObserveOptions } from './observe/observer.js';
import { Registry, type DeployOptions, type DeployResult, type FunctionInfo, type PromoteResult, type VersionInfo } from './registry/registry.js';
import type { InvocationRecord } from './observe/invocation-record.js';
import type { RecordQuery } from './observe/invocation-records.js';
import { FsStore, atomicWrite, type FunctionConfig } from './registry/store.js';
import { newRequestId, REQUEST_ID_HEADER, Runtime } from './runtime/runtime.js';
import { createAdminApp } from './server/admin.js';
import { createPublicApp, TRUSTED_INCOMING } from './server/public.js';
import { hostInterfaces } from './wasi/imports.js';

/** The WIT directory shipped with the package. */
const WIT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'wit');

/** A running Micron host. */
export interface Host {
  /**
   * Deploys a component as a new version of `name`. `config` is validated
   * strictly; without one the version keeps the serving version's
   * configuration (a first version gets the defaults). The version serves
   * traffic unless `opts.promote` is false.
   */
  deploy(name: string, component: Uint8Array, config?: Partial<FunctionConfig>, opts?: DeployOptions): Promise<DeployResult>;
  /** Every version of `name`, oldest first, with the aliases pointing at each. */
  versions(name: string): Promise<VersionInfo[]>;
  /** Points `latest` at `version` (loaded into the module cache first). */
  promote(name: string, version: string): Promise<PromoteResult>;
  /** Points `latest` at `version`, or by default at the version before the serving one. */
  rollback(name: string, version?: string): Promise<PromoteResult>;
  /** Recent invocation records of `name`, oldest first (empty with `observe: false`). */
  records(name: string, query?: Partial<RecordQuery>): InvocationRecord[];
  /** Removes a function; false when it did not exist. */
  remove(name: string): Promise<boolean>;
  /** All functions. */
  list(): Promise<FunctionInfo[]>;
  /** One function, or undefined. */
  get(name: string): Promise<FunctionInfo | undefined>;
  /** Serves function traffic (path or host routing) as a fetch handler. */
  fetch(request: Request): Promise<Response>;
  /** Serves the admin API as a fetch handler (requires the admin token). */
  adminFetch(request: Request): Promise<Response>;
  /** The Hono app of function traffic: `parent.route('/fn', host.app)`, or `parent.mount('/fn', host.fetch)`. */
  readonly app: Hono;
  /** The Hono app of the admin API. */
  readonly adminApp: Hono;
  /** The admin token in use. */
  readonly adminToken: string;
  /** The data directory (absolute). */
  readonly dataDir: string;
  /** True when the token was generated at this start (the CLI prints it once). */
  readonly adminTokenGenerated: boolean;
  /** Effective limits. */
  readonly limits: Readonly<HostLimits>;
  /** Module cache statistics. */
  cacheStats(): ModuleCacheStats;
  /**
   * Starts node:http listeners for the public and admin apps. Port 0 picks a
   * free port; the returned addresses say which.
   */
  listen(opts?: { port?: number; host?: string; adminPort?: number; adminHost?: string }): Promise<{ public: AddressInfo; admin: AddressInfo }>;
  /**
   * Stops: no new request or change is taken (`host_closed`), the listeners
   * stop accepting and close their idle connections, responses in flight
   * get up to `graceMs` (default 0) to finish before their connections are
   * closed, then the data dir is released.
   */
  close(opts?: { graceMs?: number }): Promise<void>;
}

let sharedWit: WitRegistry | undefined;

/** Creates a Micron host. */
export async function createHost(options: HostOptions = {}): Promise<Host> {
  if (options.domain !== undefined && options.domain !== false && (typeof options.domain !== 'string' || !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(options.domain))) {
    throw new MicronError('invalid_config', `domain must be a host name (for example "localhost" or "fn.example.com"), or false to turn host routing off; got ${JSON.stringify(options.domain)}`);
  }
  const dataDir = resolve(options.dataDir ?? process.env.MICRON_DATA_DIR ?? '.micron');
  const limits = resolveLimits(options.limits);
  const logger = new Logger(options.log === false ? undefined : (options.log ?? 'stdout'), parseLogLevel(process.env.MICRON_LOG_LEVEL));
  const observeOptions = options.observe === false ? undefined : resolveObserveOptions(options.observe === true ? undefined : options.observe);

  // Taken before the store is opened: opening removes temp files, which another host's deploy may be writing.
  try {
    await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
    await fs.access(dataDir, fsConstants.R_OK | fsConstants.W_OK);
  } catch (e) {
    throw new MicronError('invalid_config', `the data dir ${dataDir} cannot be used: ${(e as Error).message}`);
  }
  const unlock = await lockDataDir(dataDir);
  let store: FsStore;
  let token: string;
  let generated: boolean;
  try {
    store = await FsStore.open(dataDir);
    ({ token, generated } = await adminToken(dataDir, options.adminToken ?? process.env.MICRON_ADMIN_TOKEN, logger));
  } catch (e) {
    await unlock();
    throw e;
  }

  sharedWit ??= WitRegistry.fromDirectory(WIT_DIR);
  const compiler = new Compiler(sharedWit, hostInterfaces(sharedWit), limits.memoryPages);
  const cache = new ModuleCache(limits.moduleCacheBytes);
  const registry = new Registry(store, compiler, cache, logger);
  try {
    await registry.init();
  } catch (e) {
    await unlock();
    throw e;
  }
  const observer = observeOptions && new Observer(observeOptions, logger, () => cache.stats(), () => registry.size);
  if (observer) registry.onRemoved((name) => observer.forget(name));
  const runtime = new Runtime(limits, logger, observer);

  const { app, wantsBody } = createPublicApp({ registry, runtime, logger, domain: options.domain ?? 'localhost', limits });
  const adminApp = createAdminApp({ registry, logger, token, limits, observer });
  const servers: Server[] = [];

  const listen = (appFetch: (r: Request) => Response | Promise<Response>, port: number, host: string, wants?: (req: IncomingMessage) => boolean): Promise<AddressInfo> =>
    new Promise((ok, fail) => {
      // Node's own header limit (16 KiB by default) would answer 431 without a body; leave room
      // above the configured limit so the app answers with `header_too_large` and a request id.
      const handle = getRequestListener(appFetch);
      const server = createServer({ maxHeaderSize: limits.maxHeaderBytes + 16 * 1024 }, (req, res) => {
        // HTTP/1.0 allows a request without Host (node refuses one over HTTP/1.1 itself), which
        // @hono/node-server would answer with a bare 400: give it the address it came in on.
        if (req.headers.host === undefined) req.headers.host = hostOf(req.socket.localAddress, req.socket.localPort);
        (req as IncomingMessage & { [TRUSTED_INCOMING]?: true })[TRUSTED_INCOMING] = true;
        return handle(req, res);
      });
      server.keepAliveTimeout = 65_000;
      server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerClientError(err, socket, logger));
      if (wants) {
        // `Expect: 100-continue`: node would say "100 Continue" to every request; say it only when the body is
        // wanted, and otherwise let the app answer (404, 413) before the client uploads anything.
        server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
          if (wants(req)) res.writeContinue();
          server.emit('request', req, res);
        });
      }
      server.once('error', fail);
      server.listen(port, host, () => {
        server.off('error', fail);
        servers.push(server);
        ok(server.address() as AddressInfo);
      });
    });

  return {
    deploy: async (name, component, config, opts) => {
      // The same upload limit as the admin API's, so an embedder's deploy path is no way around it.
      if (component.length > limits.uploadBytes) {
        throw new MicronError('payload_too_large', `the component is ${component.length} bytes; the upload limit is ${limits.uploadBytes} (limits.uploadBytes)`);
      }
      return registry.deploy(name, component, config === undefined ? undefined : parseFunctionConfig(config), opts);
    },
    versions: async (name) => registry.versions(name),
    // async: a bad name or version rejects the promise instead of throwing before one exists.
    promote: async (name, version) => registry.promote(name, version),
    rollback: async (name, version) => registry.rollback(name, version),
    records: (name, query = {}) => observer?.records.query(name, { limit: 100, ...query }).records ?? [],
    remove: async (name) => registry.remove(name),
    list: () => registry.list(),
    get: (name) => registry.get(name),
    fetch: async (request) => app.fetch(request),
    adminFetch: async (request) => adminApp.fetch(request),
    app,
    adminApp,
    adminToken: token,
    dataDir,
    adminTokenGenerated: generated,
    limits,
    cacheStats: () => cache.stats(),
    async listen(opts = {}) {
      if (registry.closed) throw new MicronError('host_closed', 'this host is closed; create a new one to listen');
      const pub = await listen(app.fetch, opts.port ?? 8080, opts.host ?? '0.0.0.0', wantsBody);
      const admin = await listen(adminApp.fetch, opts.adminPort ?? 8081, opts.adminHost ?? '127.0.0.1');
      return { public: pub, admin };
    },
    async close(opts = {}) {
      const graceMs = opts.graceMs ?? 0;
      registry.close();
      observer?.close();
      await Promise.all(
        servers.splice(0).map(
          (s) =>
            new Promise<void>((ok) => {
              let cut: NodeJS.Timeout | undefined;
              let sweep: NodeJS.Timeout | undefined;
              s.close(() => {
                clearTimeout(cut);
                clearInterval(sweep);
                ok();
              });
              s.closeIdleConnections();
              if (graceMs > 0) {
                // A keep-alive connection whose response finishes during the grace goes idle: close it then.
                sweep = setInterval(() => s.closeIdleConnections(), 50);
                cut = setTimeout(() => s.closeAllConnections(), graceMs);
              } else {
                s.closeAllConnections();
              }
            }),
        ),
      );
      await store.close();
      await unlock();
      await logger.flush();
    },
  };
}

/**
 * Takes the data dir for this host: `lock` holds the owner's pid. Two hosts
 * on one data dir would each keep their own view of the store and overwrite
 * each other's records; the second is refused, naming the first. A lock
 * left by a process that no longer runs (a crash, `kill -9`) is taken over.
 * Returns the release.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, 'lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.writeFile(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        await fs.rm(path, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = Number((await fs.readFile(path, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(owner) && owner > 0 && processRuns(owner)) {
      const who = owner === process.pid ? 'another host in this process' : `process ${owner}`;
      throw new MicronError('conflict', `the data dir ${dataDir} is in use by ${who}; stop it, or give this host another data dir (--data-dir)`);
    }
    await fs.rm(path, { force: true }); // stale: its owner is gone
  }
  throw new MicronError('conflict', `could not take the lock of the data dir ${dataDir} (${path})`);
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Shortest admin token accepted: a guessable token would open the admin API (deploys run code) to anyone who can reach it. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/**
 * The admin token: given, or read from the data dir, or generated and saved
 * there (mode 0600). A given token shorter than {@link MIN_ADMIN_TOKEN_LENGTH}
 * is refused; one that differs from a token file in the data dir is used, and
 * the file (which the CLI reads when it has no token) is reported as stale.
 */
async function adminToken(dataDir: string, given: string | undefined, logger: Logger): Promise<{ token: string; generated: boolean }> {
  const path = join(dataDir, 'admin-token');
  if (given !== undefined && given !== '') {
    if (given.length < MIN_ADMIN_TOKEN_LENGTH || /\s/.test(given)) {
      throw new MicronError('invalid_config', `the admin token must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters without spaces (got ${given.length}); for example: openssl rand -hex 24`);
    }
    let saved: string | undefined;
    try {
      saved = (await fs.readFile(path, 'utf8')).trim();
    } catch {
      saved = undefined;
    }
    if (saved && saved !== given) {
      logger.warn('the admin-token file in the data dir is not the token in use (MICRON_ADMIN_TOKEN or the adminToken option wins); clients that read the file will be refused', { file: path });
    }
    return { token: given, generated: false };
  }
  try {
    const saved = (await fs.readFile(path, 'utf8')).trim();
    if (saved) return { token: saved, generated: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // Hex: a token that never begins with `-` is safe to pass as a separate argument to any tool.
  const token = randomBytes(24).toString('hex');
  await atomicWrite(path, `${token}\n`, 0o600);
  return { token, generated: true };
}

/**
 * What node's HTTP parser refused before any app saw the request (headers
 * or target past node's own limit, a malformed request line, an unknown
 * method): answered like every other refusal, JSON with a request id and
 * logged under it, instead of node's bare status line.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, logger: Logger): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const code = tooLarge ? 'header_too_large' : 'bad_request';
  const message = tooLarge
    ? 'the request target and headers are larger than the host accepts'
    : status === 408
      ? 'the request was not received in time'
      : `the request is malformed (${err.code ?? 'parse error'})`;
  const requestId = newRequestId();
  logger.info('request refused', { requestId, status, code, detail: err.code ?? err.message });
  const body = errorBodyJson(code, message, requestId);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `${REQUEST_ID_HEADER}: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** `address:port` as a Host header value (IPv6 in brackets). */
function hostOf(address: string | undefined, port: number | undefined): string {
  const a = address ?? 'localhost';
  return `${a.includes(':') ? `[${a}]` : a}${port ? `:${port}` : ''}`;
}
