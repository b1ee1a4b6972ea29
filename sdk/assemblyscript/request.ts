/** {@link Request}: the request a handler receives, or one it builds for {@link fetch}. */
import { RET, liftString, textBytes, bytesText } from "./abi";
import { Headers } from "./headers";
import { BodyReader } from "./body";
import { queryParam, UrlParts } from "./url";
import {
  incomingRequestMethod, incomingRequestPathWithQuery, incomingRequestScheme,
  incomingRequestAuthority, incomingRequestHeaders, incomingRequestConsume, incomingRequestDrop, fieldsDrop,
} from "./wasi/http/types";

/** The name of a `wasi:http` method tag below 9 (9 is `other(string)`). */
function methodName(tag: i32): string {
  switch (tag) {
    case 0: return "GET";
    case 1: return "HEAD";
    case 2: return "POST";
    case 3: return "PUT";
    case 4: return "DELETE";
    case 5: return "CONNECT";
    case 6: return "OPTIONS";
    case 7: return "TRACE";
    default: return "PATCH";
  }
}

/** @internal The `wasi:http` method tag of a method name (9 = `other`). */
export function methodTag(method: string): i32 {
  for (let i = 0; i < 9; i++) if (methodName(i) == method) return i;
  return 9;
}

/**
 * An HTTP request. The handler's `req` reads the incoming request lazily
 * (nothing is asked of the host until a property is used); `new Request(...)`
 * builds an outgoing one for {@link fetch}.
 */
export class Request {
  private handle: i32 = -1;
  private _method: string | null = null;
  private _target: string | null = null;
  private _scheme: string | null = null;
  private _authority: string | null = null;
  private _headers: Headers | null = null;
  private _body: Uint8Array | null = null;
  private _reader: BodyReader | null = null;

  /**
   * An outgoing request to an absolute URL (`https://host/path?query`).
   * Set headers with `setHeader` and a body with `setBody`/`setText`.
   */
  constructor(method: string, url: string) {
    this._method = method;
    const parts = UrlParts.parse(url);
    if (parts != null) {
      this._scheme = parts.scheme;
      this._authority = parts.authority;
      this._target = parts.pathWithQuery;
    } else {
      this._target = url;
    }
  }

  /**
   * @internal Wraps the `incoming-request` handle the host passed to the
   * handler. It skips the constructor (so URL parsing is not linked into
   * every function): every field must be set here.
   */
  static incoming(handle: i32): Request {
    const r = changetype<Request>(__new(offsetof<Request>(), idof<Request>()));
    r.handle = handle;
    r._method = null;
    r._target = null;
    r._scheme = null;
    r._authority = null;
    r._headers = null;
    r._body = null;
    r._reader = null;
    return r;
  }

  /** The method in upper case (`GET`, `POST`, ... or the verbatim extension method). */
  get method(): string {
    let m = this._method;
    if (m == null) {
      if (this.handle < 0) return "GET";
      incomingRequestMethod(this.handle, RET);
      const tag = <i32>load<u8>(RET);
      m = tag < 9 ? methodName(tag) : liftString(load<usize>(RET, 4), load<u32>(RET, 8));
      this._method = m;
    }
    return m!;
  }

  /** The path and query as sent (`/items/1?x=2`). */
  get target(): string {
    let t = this._target;
    if (t == null) {
      if (this.handle < 0) return "/";
      incomingRequestPathWithQuery(this.handle, RET);
      t = load<u8>(RET) ? liftString(load<usize>(RET, 4), load<u32>(RET, 8)) : "/";
      this._target = t;
    }
    return t!;
  }

  /** The path without the query (`/items/1`). */
  get path(): string {
    const t = this.target;
    const q = t.indexOf("?");
    return q < 0 ? t : t.substring(0, q);
  }

  /** The raw query string without `?` (`x=2&y=3`), or "". */
  get query(): string {
    const t = this.target;
    const q = t.indexOf("?");
    return q < 0 ? "" : t.substring(q + 1);
  }

  /** The decoded value of query parameter `name`, or null. */
  queryParam(name: string): string | null {
    return queryParam(this.query, name);
  }

  /** `http`, `https`, another scheme, or "" when the host did not say. */
  get scheme(): string {
    let s = this._scheme;
    if (s == null) {
      if (this.handle < 0) return "";
      incomingRequestScheme(this.handle, RET);
      if (!load<u8>(RET)) s = "";
      else {
        const tag = load<u8>(RET, 4);
        s = tag == 0 ? "http" : tag == 1 ? "https" : liftString(load<usize>(RET, 8), load<u32>(RET, 12));
      }
      this._scheme = s;
    }
    return s!;
  }

  /** The `host[:port]` the request was sent to, or "". */
  get authority(): string {
    let a = this._authority;
    if (a == null) {
      if (this.handle < 0) return "";
      incomingRequestAuthority(this.handle, RET);
      a = load<u8>(RET) ? liftString(load<usize>(RET, 4), load<u32>(RET, 8)) : "";
      this._authority = a;
    }
    return a!;
  }

  /** The request headers. */
  get headers(): Headers {
    let h = this._headers;
    if (h == null) {
      if (this.handle < 0) h = new Headers();
      else {
        const fields = incomingRequestHeaders(this.handle);
        h = Headers.fromFields(fields);
        fieldsDrop(fields);
      }
      this._headers = h;
    }
    return h;
  }

  /** The first value of header `name` (case-insensitive), or null. */
  header(name: string): string | null {
    return this.headers.get(name);
  }

  /** Sets a header (outgoing requests). */
  setHeader(name: string, value: string): Request {
    this.headers.set(name, value);
    return this;
  }

  /** Sets the body (outgoing requests). */
  setBody(body: Uint8Array): Request {
    this._body = body;
    return this;
  }

  /** Sets a UTF-8 text body (outgoing requests). */
  setText(text: string): Request {
    this._body = textBytes(text);
    return this;
  }

  /**
   * The body, streamed: read it chunk by chunk as it arrives. Use either this
   * or `bytes()`/`text()`, not both.
   */
  reader(): BodyReader {
    let r = this._reader;
    if (r == null) {
      let body = -1;
      if (this.handle >= 0) {
        incomingRequestConsume(this.handle, RET);
        if (load<u8>(RET) == 0) body = load<i32>(RET, 4);
      }
      r = new BodyReader(body);
      this._reader = r;
    }
    return r;
  }

  /** The whole body (read once, then kept). */
  bytes(): Uint8Array {
    let b = this._body;
    if (b == null) {
      b = this.handle < 0 ? new Uint8Array(0) : this.reader().readAll();
      this._body = b;
    }
    return b!;
  }

  /** The whole body decoded as UTF-8. */
  text(): string {
    return bytesText(this.bytes());
  }

  /** @internal Closes the body stream (if it was opened) and drops the incoming request. */
  release(): void {
    const r = this._reader;
    if (r != null) r.close();
    if (this.handle >= 0) incomingRequestDrop(this.handle);
    this.handle = -1;
  }

  /** @internal The body an outgoing request carries, if any. */
  get outgoingBody(): Uint8Array | null {
    return this._body;
  }
}
