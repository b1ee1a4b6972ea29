/**
 * The `fields` resource of wasi:http/types (headers and trailers), with the
 * validation rules a guest-built header set must pass: RFC 9110 token names,
 * field values without CR, LF or NUL, no hop-by-hop or host-controlled
 * headers, and the operator's count and size limits.
 */

/** Header names a guest may never set: hop-by-hop headers and ones the host controls. */
export const FORBIDDEN_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'http2-settings',
]);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** True when `name` is a valid HTTP field name (an RFC 9110 token). */
export function isValidFieldName(name: string): boolean {
  return name.length > 0 && TOKEN.test(name);
}

/** True when `value` is a valid field value: no NUL, CR or LF, and no leading/trailing whitespace. */
export function isValidFieldValue(value: Uint8Array): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === 0 || c === 0x0a || c === 0x0d || (c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  if (value.length > 0) {
    const a = value[0]!;
    const z = value[value.length - 1]!;
    if (a === 0x20 || a === 0x09 || z === 0x20 || z === 0x09) return false;
  }
  return true;
}

/** `header-error` as the host represents it. */
export type HeaderError = { tag: 'invalid-syntax' } | { tag: 'forbidden' } | { tag: 'immutable' };

const INVALID: HeaderError = { tag: 'invalid-syntax' };
const FORBIDDEN: HeaderError = { tag: 'forbidden' };
const IMMUTABLE: HeaderError = { tag: 'immutable' };

/** Limits on one header set. */
export interface FieldLimits {
  maxHeaders: number;
  maxHeaderBytes: number;
}

/** Raised when a guest's header set grows past the operator's limits. */
export class FieldLimitError extends Error {
  override readonly name = 'FieldLimitError';
}

/**
 * Bytes as an ISO-8859-1 string (one char per byte), the form node writes
 * header strings in, so every byte goes out unchanged. (TextDecoder's
 * "latin1" is windows-1252 and would turn 0x80–0x9f into other characters.)
 * Short values, the usual header, are built in JavaScript: cheaper than a
 * call into the runtime.
 */
export function latin1String(b: Uint8Array): string {
  if (b.length > 64) return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
  // One string built from the bytes as arguments (a loop of `+=` allocates one per byte).
  return String.fromCharCode.apply(null, b as unknown as number[]);
}

/** The bytes of a header string (one char per byte, as node and web `Headers` hold them): the inverse of {@link latin1String}. */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Adds the header names a `connection` value lists (RFC 9110 §7.6.1) to `into`, made when needed. */
function connectionTokens(value: string, into: Set<string> | undefined): Set<string> | undefined {
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name) (into ??= new Set()).add(name);
  }
  return into;
}

/**
 * `entries` as a message passed on carries them: without the hop-by-hop
 * names in `base` and without every name its `connection` fields list
 * (RFC 9110 §7.6.1). One pass (a second only when `connection` named
 * something); names compared lower-cased, pairs kept as given.
 */
export function withoutHopByHop<T extends readonly [string, string]>(entries: Iterable<T>, base: ReadonlySet<string>): T[] {
  const kept: T[] = [];
  let named: Set<string> | undefined;
  for (const e of entries) {
    const name = e[0].toLowerCase();
    if (name === 'connection') named = connectionTokens(e[1], named);
    if (!base.has(name)) kept.push(e);
  }
  return named ? kept.filter((e) => !named.has(e[0].toLowerCase())) : kept;
}

/**
 * A header or trailer set. Names are stored lower-cased (HTTP field names are
 * case-insensitive); values are bytes, as WIT's `field-value` is.
 */
export class Fields {
  /** Parallel arrays keep iteration order and allow repeated names. */
  readonly names: string[] = [];
  readonly values: Uint8Array[] = [];
  private bytes = 0;

  constructor(
    /** An immutable set rejects set/append/delete with `immutable`. */
    public immutable: boolean,
    private readonly limits: FieldLimits | undefined,
  ) {}

  /**
   * Builds an immutable set from trusted host data (incoming headers, as
   * node or web `Headers` give them: one char per byte). With `hopByHop`, a
   * message passed on: the names in it and the names its `connection` fields
   * list are left out (see {@link withoutHopByHop}). The guest gets each
   * value's bytes as they were sent.
   */
  static fromHeaders(entries: Iterable<readonly [string, string]>, hopByHop?: ReadonlySet<string>): Fields {
    const f = new Fields(true, undefined);
    let named: Set<string> | undefined;
    for (const [n, v] of entries) {
      const name = n.toLowerCase();
      if (!hopByHop) {
        f.names.push(name);
        f.values.push(latin1Bytes(v));
        continue;
      }
      if (name === 'connection') named = connectionTokens(v, named);
      if (hopByHop.has(name)) continue;
      f.names.push(name);
      f.values.push(latin1Bytes(v));
    }
    // The names `connection` listed: rare, removed afterwards so the common case stays one pass.
    if (named) {
      for (let i = f.names.length - 1; i >= 0; i--) {
        if (named.has(f.names[i]!)) {
          f.names.splice(i, 1);
          f.values.splice(i, 1);
        }
      }
    }
    return f;
  }

  /** Validates and adds an entry; used by append and from-list. */
  add(name: string, value: Uint8Array): HeaderError | undefined {
    if (this.immutable) return IMMUTABLE;
    if (!isValidFieldName(name) || !isValidFieldValue(value)) return INVALID;
    const lower = name.toLowerCase();
    if (FORBIDDEN_HEADERS.has(lower)) return FORBIDDEN;
    this.push(lower, value);
    return undefined;
  }

  private push(lower: string, value: Uint8Array): void {
    if (this.limits) {
      if (this.names.length + 1 > this.limits.maxHeaders) {
        throw new FieldLimitError(`more than ${this.limits.maxHeaders} header fields`);
      }
      const size = this.bytes + lower.length + value.length;
      if (size > this.limits.maxHeaderBytes) {
        throw new FieldLimitError(`header fields larger than ${this.limits.maxHeaderBytes} bytes`);
      }
      this.bytes = size;
    }
    this.names.push(lower);
    this.values.push(value);
  }

  get(name: string): Uint8Array[] {
    const lower = name.toLowerCase();
    const out: Uint8Array[] = [];
    for (let i = 0; i < this.names.length; i++) if (this.names[i] === lower) out.push(this.values[i]!);
    return out;
  }

  has(name: string): boolean {
    return this.names.includes(name.toLowerCase());
  }

  /**
   * The declared `content-length`: undefined when there is none, NaN when
   * it is not one decimal number (or repeated with different values).
   */
  contentLength(): number | undefined {
    let out: number | undefined;
    for (let i = 0; i < this.names.length; i++) {
      if (this.names[i] !== 'content-length') continue;
      const v = this.values[i]!;
      let n = v.length > 0 && v.length <= 15 ? 0 : NaN;
      for (let j = 0; j < v.length; j++) n = v[j]! >= 0x30 && v[j]! <= 0x39 ? n * 10 + (v[j]! - 0x30) : NaN;
      out = out === undefined || out === n ? n : NaN;
    }
    return out;
  }

  set(name: string, values: Uint8Array[]): HeaderError | undefined {
    if (this.immutable) return IMMUTABLE;
    if (!isValidFieldName(name)) return INVALID;
    for (const v of values) if (!isValidFieldValue(v)) return INVALID;
    const lower = name.toLowerCase();
    if (FORBIDDEN_HEADERS.has(lower)) return FORBIDDEN;
    this.remove(lower);
    for (const v of values) this.push(lower, v);
    return undefined;
  }

  delete(name: string): HeaderError | undefined {
    if (this.immutable) return IMMUTABLE;
    if (!isValidFieldName(name)) return INVALID;
    const lower = name.toLowerCase();
    if (FORBIDDEN_HEADERS.has(lower)) return FORBIDDEN;
    this.remove(lower);
    return undefined;
  }

  private remove(lower: string): void {
    for (let i = this.names.length - 1; i >= 0; i--) {
      if (this.names[i] === lower) {
        this.bytes -= lower.length + this.values[i]!.length;
        this.names.splice(i, 1);
        this.values.splice(i, 1);
      }
    }
  }

  entries(): [string, Uint8Array][] {
    return this.names.map((n, i) => [n, this.values[i]!]);
  }

  /** A mutable copy (`clone` in WIT). */
  clone(limits: FieldLimits | undefined): Fields {
    const f = new Fields(false, limits);
    for (let i = 0; i < this.names.length; i++) f.push(this.names[i]!, this.values[i]!);
    return f;
  }

  /**
   * As headers for a web `Response`, plus one extra header: a plain object
   * when no name repeats (the fastest form for @hono/node-server), else pairs.
   */
  toHeaderInit(extraName: string, extraValue: string): Record<string, string> | [string, string][] {
    const o: Record<string, string> = {};
    for (let i = 0; i < this.names.length; i++) {
      const n = this.names[i]!;
      if (n in o || n === extraName) {
        const pairs = this.toHeaderPairs();
        pairs.push([extraName, extraValue]);
        return pairs;
      }
      o[n] = latin1String(this.values[i]!);
    }
    o[extraName] = extraValue;
    return o;
  }

  /** As `[name, value]` string pairs for a web `Headers` or `Response`. */
  toHeaderPairs(): [string, string][] {
    return this.names.map((n, i) => [n, latin1String(this.values[i]!)]);
  }
}
