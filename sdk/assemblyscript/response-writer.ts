/** {@link ResponseWriter}: the streaming handler's way to answer piece by piece. */
import { Headers } from "./headers";
import { BodyWriter } from "./body";
import { Response } from "./response";

/**
 * Answers a request as a stream, for `handleStream(req, res)`. Set the status
 * and headers first; the first `write` (or `flush`) sends them, and every
 * write is flushed to the client before it returns. The body ends when the
 * handler returns (or at `end()`).
 */
export class ResponseWriter {
  /** Status code, sent with the first write. */
  status: i32 = 200;
  /** Headers, sent with the first write. */
  headers: Headers = new Headers();
  private writer: BodyWriter | null = null;
  private ended: bool = false;

  /** @internal `outparam` is the `response-outparam` handle. */
  constructor(private outparam: i32) {}

  /** Sets the status (before the first write). */
  setStatus(status: i32): ResponseWriter {
    this.status = status;
    return this;
  }

  /** Sets a header (before the first write). */
  setHeader(name: string, value: string): ResponseWriter {
    this.headers.set(name, value);
    return this;
  }

  /** True once the status and headers have been sent. */
  get started(): bool {
    return this.writer != null;
  }

  /** True when the client went away: stop producing output. */
  get failed(): bool {
    const w = this.writer;
    return w != null && w.failed;
  }

  /** Writes text (UTF-8) and flushes it. */
  write(text: string): void {
    this.body().write(text);
  }

  /** Writes bytes and flushes them. */
  writeBytes(bytes: Uint8Array): void {
    this.body().writeBytes(bytes);
  }

  /** Sends the head now (if not yet sent) and waits until everything written has left. */
  flush(): void {
    this.body().flush();
  }

  /** Sends a whole {@link Response} instead of writing piece by piece (only before the first write). */
  send(response: Response): void {
    if (this.ended || this.writer != null) return;
    this.ended = true;
    response.send(this.outparam);
  }

  /** Ends the body. Called for you when the handler returns. */
  end(): void {
    if (this.ended) return;
    this.body().close();
    this.ended = true;
  }

  private body(): BodyWriter {
    let w = this.writer;
    if (w == null) {
      const head = new Response(null, this.status);
      head.headers = this.headers;
      w = head.sendHead(this.outparam);
      this.writer = w;
    }
    return w;
  }
}
