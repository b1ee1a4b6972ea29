/** Streamed bodies: {@link BodyReader} over an input-stream, {@link BodyWriter} over an output-stream. */
import { RET, liftBytes, textBytes } from "./abi";
import {
  inputStreamBlockingRead, inputStreamDrop,
  outputStreamBlockingWriteAndFlush, outputStreamBlockingFlush, outputStreamDrop,
} from "./wasi/io/streams";
import { errorDrop } from "./wasi/io/error";
import {
  incomingBodyStream, incomingBodyDrop, outgoingBodyWrite, outgoingBodyFinish,
} from "./wasi/http/types";

/** `blocking-write-and-flush` accepts at most this many bytes per call. */
const WRITE_CHUNK: i32 = 4096;

/** Reads a body as it arrives. Obtain one from `Request#reader()` or `Response#reader()`. */
export class BodyReader {
  private stream: i32;
  private done: bool = false;
  /** True when the stream ended with an error rather than at its end. */
  failed: bool = false;

  /** @internal `body` is an `incoming-body` handle; the reader owns it. */
  constructor(private body: i32) {
    let stream = -1;
    if (body >= 0) {
      incomingBodyStream(body, RET);
      if (load<u8>(RET) == 0) stream = load<i32>(RET, 4);
    }
    this.stream = stream;
    if (stream < 0) {
      this.failed = true;
      this.close();
    }
  }

  /**
   * The next chunk (at most `max` bytes), waiting for it if needed; null at
   * the end of the body.
   */
  read(max: i32 = 65536): Uint8Array | null {
    while (!this.done) {
      inputStreamBlockingRead(this.stream, <u64>max, RET);
      if (load<u8>(RET) == 0) {
        const len = load<u32>(RET, 8);
        if (len > 0) return liftBytes(load<usize>(RET, 4), len);
        continue;
      }
      // stream-error: 0 = last-operation-failed(error), 1 = closed (the normal end).
      if (load<u8>(RET, 4) == 0) {
        errorDrop(load<i32>(RET, 8));
        this.failed = true;
      }
      this.close();
    }
    return null;
  }

  /** The rest of the body in one array. */
  readAll(): Uint8Array {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (let c = this.read(); c != null; c = this.read()) {
      chunks.push(c);
      total += c.length;
    }
    if (chunks.length == 1) return unchecked(chunks[0]);
    const out = new Uint8Array(total);
    for (let i = 0, at = 0; i < chunks.length; i++) {
      const c = unchecked(chunks[i]);
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /** Stops reading and releases the stream and the body. */
  close(): void {
    if (this.done) return;
    this.done = true;
    if (this.stream >= 0) inputStreamDrop(this.stream);
    if (this.body >= 0) incomingBodyDrop(this.body);
  }
}

/** Writes a body in pieces; every write is flushed to the client (or upstream) before it returns. */
export class BodyWriter {
  private stream: i32;
  private closed: bool = false;
  /** True once a write failed (for a response: the client went away). Later writes are ignored. */
  failed: bool = false;

  /** @internal `body` is an `outgoing-body` handle; the writer owns it. */
  constructor(private body: i32) {
    outgoingBodyWrite(body, RET);
    this.stream = load<u8>(RET) == 0 ? load<i32>(RET, 4) : -1;
    this.failed = this.stream < 0;
  }

  /** Writes text as UTF-8. */
  write(text: string): void {
    this.writeBytes(textBytes(text));
  }

  /** Writes bytes. */
  writeBytes(bytes: Uint8Array): void {
    this.writeRaw(bytes.dataStart, bytes.length);
  }

  /** @internal Writes `len` bytes at `ptr`. */
  writeRaw(ptr: usize, len: i32): void {
    while (len > 0 && !this.failed && !this.closed) {
      const n = min(len, WRITE_CHUNK);
      outputStreamBlockingWriteAndFlush(this.stream, ptr, n, RET);
      if (load<u8>(RET) != 0) this.fail();
      ptr += n;
      len -= n;
    }
  }

  /** Copies everything `reader` yields into this body. */
  pipeFrom(reader: BodyReader): void {
    for (let c = reader.read(); c != null && !this.failed; c = reader.read()) this.writeBytes(c);
    reader.close();
  }

  /** Waits until everything written so far has been sent. */
  flush(): void {
    if (this.failed || this.closed) return;
    outputStreamBlockingFlush(this.stream, RET);
    if (load<u8>(RET) != 0) this.fail();
  }

  /** Ends the body. Called for you when the handler returns. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.stream >= 0) outputStreamDrop(this.stream);
    outgoingBodyFinish(this.body, 0, 0, RET);
  }

  private fail(): void {
    if (load<u8>(RET, 4) == 0) errorDrop(load<i32>(RET, 8));
    this.failed = true;
  }
}
