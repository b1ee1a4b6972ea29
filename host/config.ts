/**
 * Host options and per-function configuration, with their defaults and strict
 * validation: an unknown key or a bad value is an error that names the field.
 */
import { MicronError } from './errors.js';
import type { FunctionConfig } from './registry/store.js';

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
  /** Wall-clock deadline of one invocation while it waits for I/O or time, ms. */
  deadlineMs: number;
  /** Guest stdout+stderr kept per invocation, bytes. */
  logBytesPerInvocation: number;
  /** Most header fields a guest may put in one header set. */
  maxHeaders: number;
  /** Largest total size of one guest header set, bytes. */
  maxHeaderBytes: number;
  /** Byte budget of the compiled-module cache. */
  moduleCacheBytes: number;
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
});

/** Options of {@link createHost}. */
export interface HostOptions {
  /** Directory of the embedded store. Default `./.micron`. */
  dataDir?: string;
  /** Admin API token. Default: `MICRON_ADMIN_TOKEN`, else generated at first start and saved in the data dir. */
  adminToken?: string;
  /** Domain for host routing: `<name>.<domain>` serves function `name`. Default `localhost`. */
  domain?: string;
  /** Limits; unspecified fields keep their defaults. */
  limits?: Partial<HostLimits>;
  /** Where host log lines go (one JSON object per line). Default: stdout. `false` silences them. */
  log?: ((line: string) => void) | false;
}

const NAME_RE = /^[a-z][a-z0-9-]{0,63}$/;

/** Throws `invalid_name` unless `name` is a valid function name. */
export function checkFunctionName(name: string): void {
  if (!NAME_RE.test(name)) {
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
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw new MicronError('invalid_config', `limit "${k}" must be a positive integer`);
    }
    (out as unknown as Record<string, number>)[k] = v;
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
    if (k !== 'env' && k !== 'allowedHosts') throw new MicronError('invalid_config', `unknown configuration field "${k}"`);
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
  return { env, allowedHosts };
}
