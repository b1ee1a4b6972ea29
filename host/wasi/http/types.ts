/**
 * wasi:http/types, implemented in-process on top of web `Request`/`Response`
 * objects: no I/O worker, no copies beyond the one into guest memory.
 *
 * Host-only constructors (an incoming request, a response outparam, an
 * incoming response) are plain classes that are not reachable through any
 * import, so a guest can only obtain them from the host.
 */
import type { GuestContext } from '../context.js';
import type { IoError } from '../io/error.js';
import { PromisePollable, ReadyPollable, type Pollable } from '../io/poll.js';
import { type InputStream, OutputStream } from '../io/streams.js';
import { BodyBuffer } from './body.js';
import type { ErrorCode } from './error-code.js';
import { FieldLimitError, Fields, type HeaderError } from './fields.js';

/** The `method` variant. */
export type Method = { tag: string; val?: string };
/** The `scheme` variant. */
export type Scheme = { tag: 'HTTP' } | { tag: 'HTTPS' } | { tag: 'other'; val: string };

const METHODS: Record<string, Method> = {
  GET: { tag: 'get' },
  HEAD: { tag: 'head' },
  POST: { tag: 'post' },
  PUT: { tag: 'put' },
  DELETE: { tag: 'delete' },
  CONNECT: { tag: 'connect' },
  OPTIONS: { tag: 'options' },
  TRACE: { tag: 'trace' },
  PATCH: { tag: 'patch' },
};

/** Maps an HTTP method string to the WIT `method` variant. */
export function methodFromString(m: string): Method {
  return METHODS[m] ?? { tag: 'other', val: m };
}

/** Maps the WIT `method` variant back to an HTTP method string. */
export function methodToString(m: Method): string {
  return m.tag === 'other' ? (m.val ?? '') : m.tag.toUpperCase();
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

type Res<T, E> = { tag: 'ok'; val: T } | { tag: 'err'; val: E };
const OK_UNIT = { tag: 'ok', val: undefined } as const;
const ERR_UNIT = { tag: 'err', val: undefined } as const;
const ok = <T>(val: T): Res<T, never> => ({ tag: 'ok', val });
const herr = (e: HeaderError | undefined): Res<undefined, HeaderError> => (e ? { tag: 'err', val: e } : OK_UNIT);

/** The body of an incoming request or response. */
export class IncomingBody {
  private streamTaken = false;
  constructor(readonly stream: InputStream) {}
  takeStream(): InputStream | undefined {
    if (this.streamTaken) return undefined;
    this.streamTaken = true;
    return this.stream;
  }
  drop(): void {
    if (!this.streamTaken) this.stream.drop();
  }
}

/**
 * An incoming request, created by the host for each invocation. Its header
 * set and body stream are built when the guest first asks for them: many
 * handlers never look at either.
 */
export class IncomingRequest {
  private consumed = false;
  private fields: Fields | undefined;
  private bodyValue: IncomingBody | undefined;
  constructor(
    readonly method: Method,
    readonly pathWithQuery: string | undefined,
    readonly scheme: Scheme | undefined,
    readonly authority: string | undefined,
    private readonly rawHeaders: () => Fields,
    private readonly makeBody: () => IncomingBody,
  ) {}
  get headers(): Fields {
    return (this.fields ??= this.rawHeaders());
  }
  get body(): IncomingBody {
    return (this.bodyValue ??= this.makeBody());
  }
  consume(): IncomingBody | undefined {
    if (this.consumed) return undefined;
    this.consumed = true;
    return this.body;
  }
}

/** The body of an outgoing request or response. */
export class OutgoingBody {
  private streamTaken = false;
  constructor(readonly buffer: BodyBuffer) {}
  takeStream(): OutputStream | undefined {
    if (this.streamTaken) return undefined;
    this.streamTaken = true;
    return new OutputStream(this.buffer);
  }
  /** Dropped without `finish`: the body is corrupt. */
  drop(): void {
    this.buffer.fail(new Error('the guest dropped the body without finishing it'));
  }
}

/** A response the guest is building. */
export class OutgoingResponse {
  status = 200;
  body: OutgoingBody | undefined;
  private bodyTaken = false;
  constructor(
    readonly headers: Fields,
    private readonly maxBodyBytes: number,
  ) {}
  takeBody(): OutgoingBody | undefined {
    if (this.bodyTaken) return undefined;
    this.bodyTaken = true;
    this.body = new OutgoingBody(new BodyBuffer(this.maxBodyBytes));
    return this.body;
  }
}

/** The slot through which the guest hands its response back. Host-created only. */
export class ResponseOutparam {
  used = false;
}

/** A request the guest is building for wasi:http/outgoing-handler. */
export class OutgoingRequest {
  method: Method = { tag: 'get' };
  pathWithQuery: string | undefined;
  scheme: Scheme | undefined;
  authority: string | undefined;
  body: OutgoingBody | undefined;
  private bodyTaken = false;
  constructor(
    readonly headers: Fields,
    private readonly maxBodyBytes: number,
  ) {}
  takeBody(): OutgoingBody | undefined {
    if (this.bodyTaken) return undefined;
    this.bodyTaken = true;
    this.body = new OutgoingBody(new BodyBuffer(this.maxBodyBytes));
    return this.body;
  }
}

/** Timeouts for an outbound request, in ns. */
export class RequestOptions {
  connectTimeout: bigint | undefined;
  firstByteTimeout: bigint | undefined;
  betweenBytesTimeout: bigint | undefined;
}

/** A response received by an outbound request. Host-created only. */
export class IncomingResponse {
  private consumed = false;
  constructor(
    readonly status: number,
    readonly headers: Fields,
    readonly body: IncomingBody,
  ) {}
  consume(): IncomingBody | undefined {
    if (this.consumed) return undefined;
    this.consumed = true;
    return this.body;
  }
}

/** The pending result of an outbound request. */
export class FutureIncomingResponse {
  result: Res<IncomingResponse, ErrorCode> | undefined;
  private taken = false;
  readonly settled: Promise<void>;
  constructor(promise: Promise<Res<IncomingResponse, ErrorCode>>) {
    this.settled = promise.then((r) => {
      this.result = r;
    });
  }
  /** `get`: none while pending; some(err) when already taken; some(ok(result)) once. */
  get(): Res<Res<IncomingResponse, ErrorCode>, undefined> | undefined {
    if (!this.result) return undefined;
    if (this.taken) return ERR_UNIT;
    this.taken = true;
    return ok(this.result);
  }
}

/** Trailers of an incoming body: Micron does not surface trailers, so they resolve to none at once. */
export class FutureTrailers {}

function limits(cx: GuestContext): { maxHeaders: number; maxHeaderBytes: number } {
  return { maxHeaders: cx.policy.maxHeaders, maxHeaderBytes: cx.policy.maxHeaderBytes };
}

function guard<T>(cx: GuestContext, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof FieldLimitError) throw cx.trap(`header limit exceeded: ${e.message}`);
    throw e;
  }
}

function validScheme(s: Scheme | undefined): boolean {
  return s === undefined || s.tag !== 'other' || /^[a-zA-Z][a-zA-Z0-9+.-]*$/.test(s.val);
}

/** Implementations of wasi:http/types keyed by WIT function name. */
export const types = {
  '[constructor]fields': (cx: GuestContext) => new Fields(false, limits(cx)),
  '[static]fields.from-list': (cx: GuestContext, list: [string, Uint8Array][]) =>
    guard(cx, () => {
      const f = new Fields(false, limits(cx));
      for (const [n, v] of list) {
        const e = f.add(n, v);
        if (e) return { tag: 'err', val: e };
      }
      return ok(f);
    }),
  '[method]fields.get': (_cx: GuestContext, self: Fields, name: string) => self.get(name),
  '[method]fields.has': (_cx: GuestContext, self: Fields, name: string) => self.has(name),
  '[method]fields.set': (cx: GuestContext, self: Fields, name: string, values: Uint8Array[]) =>
    guard(cx, () => herr(self.set(name, values))),
  '[method]fields.delete': (_cx: GuestContext, self: Fields, name: string) => herr(self.delete(name)),
  '[method]fields.get-and-delete': (_cx: GuestContext, self: Fields, name: string) => {
    const values = self.get(name);
    const e = self.delete(name);
    return e ? { tag: 'err', val: e } : ok(values);
  },
  '[method]fields.append': (cx: GuestContext, self: Fields, name: string, value: Uint8Array) =>
    guard(cx, () => herr(self.add(name, value))),
  '[method]fields.entries': (_cx: GuestContext, self: Fields) => self.entries(),
  '[method]fields.clone': (cx: GuestContext, self: Fields) => guard(cx, () => self.clone(limits(cx))),

  '[method]incoming-request.method': (_cx: GuestContext, self: IncomingRequest) => self.method,
  '[method]incoming-request.path-with-query': (_cx: GuestContext, self: IncomingRequest) => self.pathWithQuery,
  '[method]incoming-request.scheme': (_cx: GuestContext, self: IncomingRequest) => self.scheme,
  '[method]incoming-request.authority': (_cx: GuestContext, self: IncomingRequest) => self.authority,
  '[method]incoming-request.headers': (_cx: GuestContext, self: IncomingRequest) => self.headers,
  '[method]incoming-request.consume': (_cx: GuestContext, self: IncomingRequest) => {
    const b = self.consume();
    return b ? ok(b) : ERR_UNIT;
  },

  '[constructor]outgoing-request': (cx: GuestContext, headers: Fields) => {
    headers.immutable = true;
    return new OutgoingRequest(headers, cx.policy.maxResponseBytes);
  },
  '[method]outgoing-request.body': (_cx: GuestContext, self: OutgoingRequest) => {
    const b = self.takeBody();
    return b ? ok(b) : ERR_UNIT;
  },
  '[method]outgoing-request.method': (_cx: GuestContext, self: OutgoingRequest) => self.method,
  '[method]outgoing-request.set-method': (_cx: GuestContext, self: OutgoingRequest, m: Method) => {
    if (m.tag === 'other' && !TOKEN.test(m.val ?? '')) return ERR_UNIT;
    self.method = m;
    return OK_UNIT;
  },
  '[method]outgoing-request.path-with-query': (_cx: GuestContext, self: OutgoingRequest) => self.pathWithQuery,
  '[method]outgoing-request.set-path-with-query': (_cx: GuestContext, self: OutgoingRequest, p: string | undefined) => {
    if (p !== undefined && (/[\s\x00-\x1f\x7f]/.test(p) || (p !== '' && !p.startsWith('/') && p !== '*'))) return ERR_UNIT;
    self.pathWithQuery = p;
    return OK_UNIT;
  },
  '[method]outgoing-request.scheme': (_cx: GuestContext, self: OutgoingRequest) => self.scheme,
  '[method]outgoing-request.set-scheme': (_cx: GuestContext, self: OutgoingRequest, s: Scheme | undefined) => {
    if (!validScheme(s)) return ERR_UNIT;
    self.scheme = s;
    return OK_UNIT;
  },
  '[method]outgoing-request.authority': (_cx: GuestContext, self: OutgoingRequest) => self.authority,
  '[method]outgoing-request.set-authority': (_cx: GuestContext, self: OutgoingRequest, a: string | undefined) => {
    if (a !== undefined && !/^[^\s/?#@]*$/.test(a)) return ERR_UNIT;
    self.authority = a;
    return OK_UNIT;
  },
  '[method]outgoing-request.headers': (_cx: GuestContext, self: OutgoingRequest) => self.headers,

  '[constructor]request-options': () => new RequestOptions(),
  '[method]request-options.connect-timeout': (_cx: GuestContext, self: RequestOptions) => self.connectTimeout,
  '[method]request-options.set-connect-timeout': (_cx: GuestContext, self: RequestOptions, d: bigint | undefined) => {
    self.connectTimeout = d;
    return OK_UNIT;
  },
  '[method]request-options.first-byte-timeout': (_cx: GuestContext, self: RequestOptions) => self.firstByteTimeout,
  '[method]request-options.set-first-byte-timeout': (_cx: GuestContext, self: RequestOptions, d: bigint | undefined) => {
    self.firstByteTimeout = d;
    return OK_UNIT;
  },
  '[method]request-options.between-bytes-timeout': (_cx: GuestContext, self: RequestOptions) => self.betweenBytesTimeout,
  '[method]request-options.set-between-bytes-timeout': (_cx: GuestContext, self: RequestOptions, d: bigint | undefined) => {
    self.betweenBytesTimeout = d;
    return OK_UNIT;
  },

  '[static]response-outparam.set': (cx: GuestContext, param: ResponseOutparam, response: Res<OutgoingResponse, ErrorCode>) => {
    if (param.used) throw cx.trap('response-outparam.set called twice');
    param.used = true;
    cx.http.setResponse(response);
  },

  '[method]incoming-response.status': (_cx: GuestContext, self: IncomingResponse) => self.status,
  '[method]incoming-response.headers': (_cx: GuestContext, self: IncomingResponse) => self.headers,
  '[method]incoming-response.consume': (_cx: GuestContext, self: IncomingResponse) => {
    const b = self.consume();
    return b ? ok(b) : ERR_UNIT;
  },

  '[method]incoming-body.stream': (_cx: GuestContext, self: IncomingBody) => {
    const s = self.takeStream();
    return s ? ok(s) : ERR_UNIT;
  },
  '[static]incoming-body.finish': (_cx: GuestContext, body: IncomingBody) => {
    body.drop();
    return new FutureTrailers();
  },
  '[method]future-trailers.subscribe': (): Pollable => new ReadyPollable(),
  '[method]future-trailers.get': () => ok(ok(undefined)),

  '[constructor]outgoing-response': (cx: GuestContext, headers: Fields) => {
    headers.immutable = true;
    return new OutgoingResponse(headers, cx.policy.maxResponseBytes);
  },
  '[method]outgoing-response.status-code': (_cx: GuestContext, self: OutgoingResponse) => self.status,
  '[method]outgoing-response.set-status-code': (_cx: GuestContext, self: OutgoingResponse, status: number) => {
    if (status < 100 || status > 599) return ERR_UNIT;
    self.status = status;
    return OK_UNIT;
  },
  '[method]outgoing-response.headers': (_cx: GuestContext, self: OutgoingResponse) => self.headers,
  '[method]outgoing-response.body': (_cx: GuestContext, self: OutgoingResponse) => {
    const b = self.takeBody();
    return b ? ok(b) : ERR_UNIT;
  },

  '[method]outgoing-body.write': (_cx: GuestContext, self: OutgoingBody) => {
    const s = self.takeStream();
    return s ? ok(s) : ERR_UNIT;
  },
  '[static]outgoing-body.finish': (_cx: GuestContext, body: OutgoingBody, trailers: Fields | undefined) => {
    void trailers;
    // A body that failed already, or that is short of its declared content-length, fails here.
    body.buffer.finish();
    const failed = body.buffer.failure;
    return failed ? { tag: 'err', val: { tag: 'internal-error', val: failed.message } } : OK_UNIT;
  },

  '[method]future-incoming-response.subscribe': (_cx: GuestContext, self: FutureIncomingResponse): Pollable =>
    self.result ? new ReadyPollable() : new PromisePollable(self.settled),
  '[method]future-incoming-response.get': (_cx: GuestContext, self: FutureIncomingResponse) => self.get(),

  'http-error-code': (_cx: GuestContext, e: IoError) => e.httpErrorCode,
} satisfies Record<string, (cx: GuestContext, ...args: never[]) => unknown>;
