/**
 * Host options and per-function configuration, with their defaults and strict
 * validation: an unknown key or a bad value is an error that names the field.
 */
import { MicronError } from './errors.js';
import type { ObserveOptions } from './observe/observer.js';
import type { FunctionConfig, InvokeAuth } from './registry/store.js';

/** Host-wide limits; each has a default and can be overridden in {@link HostOptions}. */
export interface HostLimits {
  /** Largest component upload, bytes. */
  uploadBytes: number;
  /** Largest request body a function receives, bytes. */
  requestBodyBytes: number;
  /** Largest body a function may write (response or outbound request), bytes. */
  responseBodyBytes: number;
  /** Largest outbound response body a function may read, bytes. */
  outboundResponseBytes: number;
  /**
   * Wall-clock deadline of one invocation, ms: computing and waiting alike. A
   * guest past it is stopped (even in a loop that never yields) and the client
   * gets 504 `deadline_exceeded`. See docs/adr/002-deadlines.md.
   */
  deadlineMs: number;
  /** Guest stdout+stderr kept per invocation, bytes. */
  logBytesPerInvocation: number;
  /** Most header fields in a request (431 beyond it) and in one header set a guest builds. */
  maxHeaders: number;
  /** Largest total size (names + values) of a request's headers (431 beyond it) and of one guest header set, bytes. */
  maxHeaderBytes: number;
  /** Byte budget of the compiled-module cache. */
  moduleCacheBytes: number;
  /** Requests of one function running at once; more wait in its queue. */
  maxInFlight: number;
  /** Requests of one function waiting for a slot; more are answered 429 at once. 0: no queue. */
  maxQueued: number;
  /** Longest a request waits in its function's queue before it is answered 429, ms. */
  queueTimeoutMs: number;
  /** Requests running at once across all functions (host-wide cap). */
  hostMaxInFlight: number;
  /**
   * Largest linear memory of one instance, in 64 KiB pages. Lowers a module's
   * declared maximum; a guest growing past it sees `memory.grow` fail.
   */
  memoryPages: number;
}

/** Defaults for {@link HostLimits}. */
export const DEFAULT_LIMITS: Readonly<HostLimits> = Object.freeze({
  uploadBytes: 32 * 1024 * 1024,
  requestBodyBytes: 16 * 1024 * 1024,
  responseBodyBytes: 64 * 1024 * 1024,
  outboundResponseBytes: 16 * 1024 * 1024,
  deadlineMs: 30_000,
  logBytesPerInvocation: 64 * 1024,
  maxHeaders: 100,
  maxHeaderBytes: 64 * 1024,
  moduleCacheBytes: 256 * 1024 * 1024,
  maxInFlight: 100,
  maxQueued: 100,
  queueTimeoutMs: 10_000,
  hostMaxInFlight: 1_000,
  memoryPages: 4096,
});

/** The limits a function's configuration may override (key `limits`). */
export const FUNCTION_LIMIT_KEYS = [
  'maxInFlight',
  'maxQueued',
  'queueTimeoutMs',
  'deadlineMs',
  'memoryPages',
  'requestBodyBytes',
  'responseBodyBytes',
  'logBytesPerInvocation',
] as const satisfies readonly (keyof HostLimits)[];

/** Per-function overrides of host limits, set at deploy (`{"limits": {"maxInFlight": 4}}`). */
export type FunctionLimits = Partial<Pick<HostLimits, (typeof FUNCTION_LIMIT_KEYS)[number]>>;

/** The effective limits of one function: its overrides over the host's. */
export type EffectiveLimits = Pick<HostLimits, (typeof FUNCTION_LIMIT_KEYS)[number]>;

/** Most 64 KiB pages a 32-bit linear memory can have. */
const MAX_PAGES = 65536;

/** Longest time limit, ms: node's timers hold at most 2^31 − 1 ms (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Checks one limit value; `path` names the field in the error. */
function checkLimit(key: string, v: unknown, path: string): number {
  const zeroOk = key === 'maxQueued';
  if (typeof v !== 'number' || !Number.isInteger(v) || v < (zeroOk ? 0 : 1)) {
    throw new MicronError('invalid_config', `${path} must be a ${zeroOk ? 'non-negative' : 'positive'} integer`);
  }
  if (key === 'memoryPages' && v > MAX_PAGES) throw new MicronError('invalid_config', `${path} must be at most ${MAX_PAGES} (4 GiB)`);
  if ((key === 'deadlineMs' || key === 'queueTimeoutMs') && v > MAX_TIMER_MS) {
    throw new MicronError('invalid_config', `${path} must be at most ${MAX_TIMER_MS} ms (about 24.8 days)`);
  }
  return v;
}

/** A function's effective limits: its configured overrides, else the host's. */
export function effectiveLimits(host: HostLimits, fn: FunctionLimits | undefined): EffectiveLimits {
  const out = {} as EffectiveLimits;
  for (const k of FUNCTION_LIMIT_KEYS) out[k] = fn?.[k] ?? host[k];
  return out;
}

/** Options of {@link createHost}. */
export interface HostOptions {
  /** Directory of the embedded store. Default `./.micron`. */
  dataDir?: string;
  /** Admin API token. Default: `MICRON_ADMIN_TOKEN`, else generated at first start and saved in the data dir. */
  adminToken?: string;
  /**
   * Domain for host routing: `<name>.<domain>` serves function `name`.
   * Default `localhost`. `false` turns host routing off (only `/<name>/`
   * and configured routes): for an app mounted under a path of a service
   * whose own host names would otherwise be taken for function names.
   */
  domain?: string | false;
  /** Limits; unspecified fields keep their defaults. */
  limits?: Partial<HostLimits>;
  /** Where host log lines go (one JSON object per line). Default: stdout. `false` silences them. */
  log?: ((line: string) => void) | false;
  /**
   * Invocation records, metrics and the per-invocation log line: on by default
   * (`true` or options such as the record retention); `false` turns them off
   * (failures are still logged).
   */
  observe?: boolean | ObserveOptions;
}

/** Function names: 1–64 of a–z, 0–9 and `-`, starting with a letter (also the store's record file names). */
export const FUNCTION_NAME = /^[a-z][a-z0-9-]{0,63}$/;

/** Throws `invalid_name` unless `name` is a valid function name. */
export function checkFunctionName(name: string): void {
  if (!FUNCTION_NAME.test(name)) {
    throw new MicronError(
      'invalid_name',
      `invalid function name ${JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name)}: use 1–64 characters of a–z, 0–9 and "-", starting with a letter`,
    );
  }
}

/** Merges and validates limits. */
export function resolveLimits(partial: Partial<HostLimits> | undefined): HostLimits {
  const out: HostLimits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(partial ?? {})) {
    if (!(k in DEFAULT_LIMITS)) throw new MicronError('invalid_config', `unknown limit "${k}"`);
    (out as unknown as Record<string, number>)[k] = checkLimit(k, v, `limit "${k}"`);
  }
  return out;
}

/** The configuration a function gets when none is given. */
export const DEFAULT_FUNCTION_CONFIG: Readonly<FunctionConfig> = Object.freeze({ env: {}, allowedHosts: [] });

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HOST_PATTERN = /^(\*|(\*\.)?([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:(\d{1,5}|\*))?)$/;

/**
 * Parses a function configuration (JSON text or an object). Unknown keys and
 * bad values throw `invalid_config` naming the field.
 */
export function parseFunctionConfig(input: unknown): FunctionConfig {
  let raw = input;
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      throw new MicronError('invalid_config', 'the function configuration is not valid JSON');
    }
  }
  if (raw === undefined || raw === null) return { env: {}, allowedHosts: [] };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new MicronError('invalid_config', 'the function configuration must be a JSON object');
  const obj = raw as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    if (!CONFIG_FIELDS.has(k)) throw new MicronError('invalid_config', `unknown configuration field "${k}"`);
  }
  const env: Record<string, string> = {};
  if (obj.env !== undefined) {
    if (typeof obj.env !== 'object' || obj.env === null || Array.isArray(obj.env)) {
      throw new MicronError('invalid_config', 'field "env" must be an object of strings');
    }
    for (const [k, v] of Object.entries(obj.env)) {
      if (!ENV_NAME.test(k)) throw new MicronError('invalid_config', `field "env.${k}": invalid variable name`);
      if (typeof v !== 'string') throw new MicronError('invalid_config', `field "env.${k}" must be a string`);
      env[k] = v;
    }
  }
  const allowedHosts: string[] = [];
  if (obj.allowedHosts !== undefined) {
    if (!Array.isArray(obj.allowedHosts)) throw new MicronError('invalid_config', 'field "allowedHosts" must be an array of host patterns');
    obj.allowedHosts.forEach((h, i) => {
      if (typeof h !== 'string' || !HOST_PATTERN.test(h.toLowerCase())) {
        throw new MicronError('invalid_config', `field "allowedHosts[${i}]": expected host, host:port, *.domain or *`);
      }
      allowedHosts.push(h.toLowerCase());
    });
  }
  const out: FunctionConfig = { env, allowedHosts };
  if (obj.limits !== undefined) out.limits = parseFunctionLimits(obj.limits);
  if (obj.routes !== undefined) out.routes = parseRoutes(obj.routes);
  if (obj.invokeAuth !== undefined) out.invokeAuth = parseInvokeAuth(obj.invokeAuth);
  return out;
}

/** The fields a function configuration may have. */
const CONFIG_FIELDS: ReadonlySet<string> = new Set(['env', 'allowedHosts', 'limits', 'routes', 'invokeAuth']);

/** Most extra routes one function may declare. */
const MAX_ROUTES = 16;
const PATH_ROUTE = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/;
const HOST_ROUTE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Parses `routes`: path prefixes (`/api/v1`, no trailing slash) and host names (`api.example.com`). */
function parseRoutes(raw: unknown): string[] {
  if (!Array.isArray(raw)) throw new MicronError('invalid_config', 'field "routes" must be an array of path prefixes ("/api") and host names ("api.example.com")');
  if (raw.length > MAX_ROUTES) throw new MicronError('invalid_config', `field "routes" has ${raw.length} entries; at most ${MAX_ROUTES} are allowed`);
  const out: string[] = [];
  raw.forEach((r, i) => {
    const field = `field "routes[${i}]"`;
    if (typeof r !== 'string' || r.length === 0 || r.length > 253) throw new MicronError('invalid_config', `${field} must be a path prefix or a host name`);
    if (r.startsWith('/')) {
      if (!PATH_ROUTE.test(r) || r.split('/').some((seg) => seg === '.' || seg === '..')) {
        throw new MicronError('invalid_config', `${field}: a path prefix is "/" followed by segments, without a trailing "/" or "." / ".." segments`);
      }
    } else if (!HOST_ROUTE.test(r.toLowerCase())) {
      throw new MicronError('invalid_config', `${field}: expected a path prefix starting with "/" or a host name (no port, no scheme)`);
    }
    const route = r.startsWith('/') ? r : r.toLowerCase();
    if (out.includes(route)) throw new MicronError('invalid_config', `${field}: ${JSON.stringify(route)} is listed twice`);
    out.push(route);
  });
  return out;
}

/** Parses `invokeAuth`: `"public"` or `{ "bearer": ["token", …] }`. */
function parseInvokeAuth(raw: unknown): InvokeAuth {
  if (raw === 'public') return 'public';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new MicronError('invalid_config', 'field "invokeAuth" must be "public" or {"bearer": ["<token>", …]}');
  }
  for (const k of Object.keys(raw)) {
    if (k !== 'bearer') throw new MicronError('invalid_config', `unknown configuration field "invokeAuth.${k}"`);
  }
  const tokens = (raw as { bearer?: unknown }).bearer;
  if (!Array.isArray(tokens) || tokens.length === 0 || tokens.length > 16) {
    throw new MicronError('invalid_config', 'field "invokeAuth.bearer" must be an array of 1–16 tokens');
  }
  tokens.forEach((t, i) => {
    if (typeof t !== 'string' || !/^[\x21-\x7e]{16,256}$/.test(t)) {
      throw new MicronError('invalid_config', `field "invokeAuth.bearer[${i}]" must be 16–256 visible ASCII characters`);
    }
  });
  return { bearer: [...(tokens as string[])] };
}

/** Parses the `limits` field of a function configuration: only {@link FUNCTION_LIMIT_KEYS}, each a valid value. */
function parseFunctionLimits(raw: unknown): FunctionLimits {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new MicronError('invalid_config', 'field "limits" must be an object of limits');
  }
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!(FUNCTION_LIMIT_KEYS as readonly string[]).includes(k)) {
      throw new MicronError('invalid_config', `unknown configuration field "limits.${k}" (a function may set ${FUNCTION_LIMIT_KEYS.join(', ')})`);
    }
    out[k] = checkLimit(k, v, `field "limits.${k}"`);
  }
  return out as FunctionLimits;
}
