/**
 * Body plumbing between wasi:http streams and web streams.
 *
 * {@link BodyBuffer} is the sink behind a guest's outgoing body. It starts out
 * buffering, so a guest that writes a small body and finishes within one run
 * is answered with a plain byte body (no stream machinery at all). When the
 * guest yields before finishing, the invocation turns the buffer into a
 * `ReadableStream` and later writes flow straight to the client, with
 * backpressure from the stream's queue.
 *
 * {@link pumpInto} feeds a web `ReadableStream` (a request body, an outbound
 * response body) into an {@link InputStream}, reading only when the guest asks
 * for data. {@link readWhole} reads one into a single buffer, up to a limit.
 */
import { IoError } from '../io/error.js';
import type { InputStream, Sink } from '../io/streams.js';

/** Bytes a streaming body may queue before writers must wait. */
const HIGH_WATER = 64 * 1024;

/** The sink of an outgoing body (the response, or an outbound request). */
export class BodyBuffer implements Sink {
  private chunks: Uint8Array[] = [];
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private queued = 0;
  private done = false;
  private waiter: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Total bytes written. */
  total = 0;
  /** The failure that ended the body, if any. */
  failure: Error | undefined;
  /** True once the body was finished successfully. */
  finished = false;
  /** Closes the client's connection when a streamed body fails (see {@link toStream}). */
  private cutOff: (() => void) | undefined;
  /** The length the message declared (its content-length), once it is held to it. */
  private expected: number | undefined;
  private doneWaiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  capacity(): number {
    if (this.done) return 0;
    if (!this.controller) return Math.max(0, HIGH_WATER * 16 - this.queued);
    return Math.max(0, HIGH_WATER - this.queued);
  }

  write(bytes: Uint8Array): IoError | undefined {
    if (this.done) return new IoError('body already finished');
    if (this.total + bytes.length > this.limit) {
      const e = new IoError(`body exceeds the limit of ${this.limit} bytes`);
      this.fail(new Error(e.message));
      return e;
    }
    if (this.expected !== undefined && this.total + bytes.length > this.expected) {
      const e = new IoError(`body is longer than its content-length of ${this.expected} bytes`);
      this.fail(new Error(e.message));
      return e;
    }
    this.total += bytes.length;
    if (bytes.length === 0) return undefined;
    if (this.controller) {
      this.queued += bytes.length;
      this.controller.enqueue(bytes);
    } else {
      this.chunks.push(bytes);
      this.queued += bytes.length;
    }
    return undefined;
  }

  whenWritable(): Promise<void> {
    if (this.capacity() > 0 || this.done) return Promise.resolve();
    if (!this.waiter) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.waiter = { promise, resolve };
    }
    return this.waiter.promise;
  }

  closed(): boolean {
    return this.done;
  }

  /**
   * Holds the body to the length its message declared: writing past it, or
   * finishing short of it, fails the body (a client would otherwise wait for
   * bytes that never come, or take extra bytes for the next response). The
   * caller has checked what is already written against it.
   */
  expectLength(n: number): void {
    this.expected = n;
  }

  /** The guest finished the body (it fails instead if it is shorter than its declared length). */
  finish(): void {
    if (this.done) return;
    if (this.expected !== undefined && this.total !== this.expected) {
      this.fail(new Error(`body is ${this.total} bytes but its content-length is ${this.expected}`));
      return;
    }
    this.done = true;
    this.finished = true;
    this.controller?.close();
    this.wake();
    this.settle();
  }

  /** Resolves once the body is finished or failed. */
  whenDone(): Promise<void> {
    if (this.finished || this.failure) return Promise.resolve();
    return new Promise((resolve) => this.doneWaiters.push(resolve));
  }

  private settle(): void {
    const w = this.doneWaiters;
    this.doneWaiters = [];
    for (const f of w) f();
  }

  /** The body cannot complete (guest dropped it unfinished, trapped, or hit a limit). */
  fail(e: Error): void {
    if (this.done) return;
    this.done = true;
    this.failure = e;
    if (this.controller) this.endFailed(e);
    this.wake();
    this.settle();
  }

  private endFailed(e: Error): void {
    if (!this.cutOff) return this.controller!.error(e);
    this.cutOff();
    this.controller!.close();
  }

  /** The buffered bytes as one array (only before {@link toStream}). */
  takeBuffered(): Uint8Array {
    const chunks = this.chunks;
    this.chunks = [];
    this.queued = 0;
    if (chunks.length === 1) return chunks[0]!;
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let off = 0;
    for (const c of chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  /**
   * Switches to streaming: returns a stream that carries what is buffered
   * and everything written later. A failure errors the stream, unless
   * `cutOff` is given: then it is called (it closes the connection, so the
   * client sees the body cut short) and the stream just ends, so that
   * nothing downstream writes an error text into the body or logs it.
   */
  toStream(cutOff?: () => void): ReadableStream<Uint8Array> {
    this.cutOff = cutOff;
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
          for (const c of this.chunks) controller.enqueue(c);
          this.chunks = [];
          if (this.finished) controller.close();
          else if (this.failure) this.endFailed(this.failure);
        },
        pull: () => {
          // The consumer drained the queue: writers may continue.
          this.queued = 0;
          this.wake();
        },
        cancel: () => {
          // The client went away: further guest writes see `closed`.
          this.done = true;
          this.wake();
        },
      },
      { highWaterMark: 0 },
    );
  }

  private wake(): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w.resolve();
    }
  }
}

/**
 * Feeds a web stream into an input stream. Reading starts when the guest
 * first asks for data and pauses while the guest has unread chunks, so a slow
 * guest applies backpressure to the client. `limit` bounds the total bytes.
 */
export function pumpInto(source: ReadableStream<Uint8Array>, target: InputStream, limit: number, onLimit?: () => void): void {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let total = 0;
  let reading = false;
  const pump = (): void => {
    if (reading) return;
    reading = true;
    reader ??= source.getReader();
    reader.read().then(
      ({ done, value }) => {
        reading = false;
        if (done) return target.end();
        total += value.length;
        if (total > limit) {
          onLimit?.();
          target.fail(new IoError(`body exceeds the limit of ${limit} bytes`));
          void reader?.cancel().catch(() => undefined);
          return;
        }
        target.push(value);
        // Keep one chunk ahead; wait for the guest to ask again beyond that.
        target.onDemand = pump;
      },
      (e: unknown) => {
        reading = false;
        target.fail(new IoError(`reading the body failed: ${e instanceof Error ? e.message : String(e)}`));
      },
    );
  };
  target.onDemand = pump;
  target.onDrop = () => {
    void (reader ?? source).cancel().catch(() => undefined);
  };
}

/**
 * Reads a web stream whole, up to `limit` bytes. Past the limit the rest is
 * cancelled and the error `tooLarge()` makes is thrown.
 */
export async function readWhole(body: ReadableStream<Uint8Array>, limit: number, tooLarge: () => Error): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
