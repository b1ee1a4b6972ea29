/** {@link Response}: what a handler returns, or what {@link fetch} got back. */
import { RET, textBytes, bytesText } from "./abi";
import { Headers } from "./headers";
import { BodyReader, BodyWriter } from "./body";
import {
  outgoingResponseNew, outgoingResponseSetStatusCode, outgoingResponseBody, responseOutparamSet,
  incomingResponseStatus, incomingResponseHeaders, incomingResponseConsume, fieldsDrop,
} from "./wasi/http/types";

/**
 * An HTTP response: built by a handler (`Response.text("hi")`,
 * `new Response(bytes, 201)`), or received from {@link fetch}, whose body is
 * streamed and can be returned as is to proxy it.
 */
export class Response {
  /** Status code. */
  status: i32;
  /** Response headers. */
  headers: Headers = new Headers();
  /** For a failed {@link fetch}: the `wasi:http` error-code (`HTTP-request-denied`, ...); otherwise null. */
  error: string | null = null;
  protected body: Uint8Array | null;
  protected _reader: BodyReader | null = null;

  /** A response with `body` (or none) and `status` (200 by default). */
  constructor(body: Uint8Array | null = null, status: i32 = 200) {
    this.body = body;
    this.status = status;
  }

  /** A `text/plain; charset=utf-8` response. */
  static text(text: string, status: i32 = 200): Response {
    const r = new Response(textBytes(text), status);
    r.headers.append("content-type", "text/plain; charset=utf-8");
    return r;
  }

  /** An `application/json` response from already-serialized JSON (see `JsonValue#toString`). */
  static json(json: string, status: i32 = 200): Response {
    const r = new Response(textBytes(json), status);
    r.headers.append("content-type", "application/json");
    return r;
  }

  /** A `text/html; charset=utf-8` response. */
  static html(html: string, status: i32 = 200): Response {
    const r = new Response(textBytes(html), status);
    r.headers.append("content-type", "text/html; charset=utf-8");
    return r;
  }

  /** A body-less response (`204`, `304`, ...). */
  static empty(status: i32 = 204): Response {
    return new Response(null, status);
  }

  /** A redirect to `location` (302 by default). */
  static redirect(location: string, status: i32 = 302): Response {
    const r = new Response(null, status);
    r.headers.append("location", location);
    return r;
  }

  /** @internal A failed fetch. */
  static failure(error: string): Response {
    const r = new Response(null, 0);
    r.error = error;
    return r;
  }

  /** @internal Wraps an `incoming-response` from the outgoing handler. */
  static incoming(handle: i32): Response {
    return new IncomingResponse(handle);
  }

  /** True for a 2xx status. */
  get ok(): bool {
    return this.status >= 200 && this.status < 300;
  }

  /** Sets the status. */
  setStatus(status: i32): Response {
    this.status = status;
    return this;
  }

  /** Sets a header, replacing earlier values. */
  setHeader(name: string, value: string): Response {
    this.headers.set(name, value);
    return this;
  }

  /** Replaces the body (a fetched body not yet read is released). */
  setBody(body: Uint8Array): Response {
    const r = this._reader;
    if (r != null) r.close();
    this.body = body;
    this._reader = null;
    return this;
  }

  /** Replaces the body with UTF-8 text (the content-type is left as it is). */
  setText(text: string): Response {
    return this.setBody(textBytes(text));
  }

  /** The body streamed (for a fetched response; a built one yields nothing). */
  reader(): BodyReader | null {
    return this._reader;
  }

  /** The whole body (a fetched one is read to its end, once). */
  bytes(): Uint8Array {
    let b = this.body;
    if (b == null) {
      const r = this._reader;
      b = r != null ? r.readAll() : new Uint8Array(0);
      this.body = b;
      this._reader = null;
    }
    return b!;
  }

  /** The whole body decoded as UTF-8. */
  text(): string {
    return bytesText(this.bytes());
  }

  /**
   * @internal Sends the head through `outparam`, then returns a writer for
   * the body. `status` 0 (a failed fetch) is sent as 502.
   */
  sendHead(outparam: i32): BodyWriter {
    const resp = outgoingResponseNew(this.headers.toFields());
    outgoingResponseSetStatusCode(resp, this.status > 0 ? this.status : 502);
    outgoingResponseBody(resp, RET);
    const body = load<i32>(RET, 4);
    responseOutparamSet(outparam, 0, resp, 0, 0, 0, 0, 0, 0);
    return new BodyWriter(body);
  }

  /** @internal Sends the whole response through `outparam`. */
  send(outparam: i32): void {
    const w = this.sendHead(outparam);
    this.writeBody(w);
    w.close();
  }

  /** @internal Writes the body (overridden for a streamed, fetched body). */
  protected writeBody(w: BodyWriter): void {
    const b = this.body;
    if (b != null) w.writeBytes(b);
  }
}

/**
 * A fetched response: its body streams from upstream. A subclass so that the
 * streaming code is linked only into functions that fetch.
 */
class IncomingResponse extends Response {
  constructor(handle: i32) {
    super(null, incomingResponseStatus(handle));
    const fields = incomingResponseHeaders(handle);
    this.headers = Headers.fromFields(fields);
    fieldsDrop(fields);
    incomingResponseConsume(handle, RET);
    this._reader = new BodyReader(load<u8>(RET) == 0 ? load<i32>(RET, 4) : -1);
  }

  protected writeBody(w: BodyWriter): void {
    const r = this._reader;
    if (r != null && this.body == null) w.pipeFrom(r);
    else super.writeBody(w);
  }
}
