/**
 * wasi:io/streams. Input streams are buffers that a source fills (a request
 * body, an outbound response body, stdin); output streams hand bytes to a sink
 * (a response body, stdout). Non-blocking calls never wait; blocking calls
 * suspend the guest until the stream is ready, so the event loop keeps
 * serving other requests meanwhile.
 */
import { SUSPENDED, type Suspended } from '../../abi/canon.js';
import type { GuestContext } from '../context.js';
import { IoError } from './error.js';
import { Pollable } from './poll.js';

/** `stream-error` as the host represents it. */
export type StreamError = { tag: 'closed' } | { tag: 'last-operation-failed'; val: IoError };

/** The `closed` stream error (shared: it carries no data). */
export const CLOSED: StreamError = Object.freeze({ tag: 'closed' }) as StreamError;

type Res<T> = { tag: 'ok'; val: T } | { tag: 'err'; val: StreamError };
const OK_UNIT: Res<undefined> = Object.freeze({ tag: 'ok', val: undefined }) as Res<undefined>;
const EMPTY = new Uint8Array(0);

function ok<T>(val: T): Res<T> {
  return { tag: 'ok', val };
}
function err(val: StreamError): Res<never> {
  return { tag: 'err', val };
}

/** Largest `len` honoured per read, to keep a guest from asking the host to allocate gigabytes. */
const MAX_READ = 1 << 20;

/**
 * A readable byte stream backed by a queue of chunks. A producer pushes
 * chunks and ends or fails it; the guest reads what is there.
 */
export class InputStream {
  private chunks: Uint8Array[] = [];
  private head = 0;
  private ended = false;
  private failure: IoError | undefined;
  private waiter: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Called the first time a guest wants data, so sources can start lazily. */
  onDemand: (() => void) | undefined;
  /** Called when the guest drops the stream. */
  onDrop: (() => void) | undefined;
  /** Bytes delivered to the guest so far. */
  bytesRead = 0;

  /** A stream that is already complete with these bytes. */
  static of(bytes: Uint8Array): InputStream {
    const s = new InputStream();
    if (bytes.length) s.push(bytes);
    s.end();
    return s;
  }

  /** Producer: appends a chunk. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.wake();
  }

  /** Producer: no more data. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** Producer: the source failed. */
  fail(e: IoError): void {
    this.failure = e;
    this.wake();
  }

  /** Bytes buffered and not yet read. */
  get buffered(): number {
    let n = 0;
    for (const c of this.chunks) n += c.length;
    return n - this.head;
  }

  /** True when a read would not have to wait. */
  readable(): boolean {
    return this.chunks.length > 0 || this.ended || this.failure !== undefined;
  }

  /** Resolves when {@link readable} becomes true. */
  whenReadable(): Promise<void> {
    if (this.readable()) return Promise.resolve();
    this.onDemand?.();
    this.onDemand = undefined;
    if (!this.waiter) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.waiter = { promise, resolve };
    }
    return this.waiter.promise;
  }

  /** Non-blocking read of up to `len` bytes. */
  read(len: number): Res<Uint8Array> {
    if (this.chunks.length === 0) {
      if (this.failure) return err({ tag: 'last-operation-failed', val: this.failure });
      if (this.ended) return err(CLOSED);
      this.onDemand?.();
      this.onDemand = undefined;
      return ok(EMPTY);
    }
    const first = this.chunks[0]!;
    const avail = first.length - this.head;
    const n = Math.min(avail, len, MAX_READ);
    const out = first.subarray(this.head, this.head + n);
    if (n === avail) {
      this.chunks.shift();
      this.head = 0;
    } else this.head += n;
    this.bytesRead += n;
    return ok(out);
  }

  /** Drop: stop the source. */
  drop(): void {
    this.chunks = [];
    this.onDrop?.();
  }

  private wake(): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w.resolve();
    }
  }
}

/** Where an output stream's bytes go. */
export interface Sink {
  /** Bytes the sink accepts now without buffering past its limit (0 means wait). */
  capacity(): number;
  /** Accepts bytes (at most `capacity()`); may fail, for example over a size limit. */
  write(bytes: Uint8Array): IoError | undefined;
  /** Resolves when `capacity()` becomes positive. */
  whenWritable(): Promise<void>;
  /** True once the sink no longer takes bytes (the body was finished or the client left). */
  closed(): boolean;
}

/** A writable byte stream in front of a {@link Sink}. */
export class OutputStream {
  private failed: IoError | undefined;
  /** Called when the guest drops the stream. */
  onDrop: (() => void) | undefined;
  constructor(readonly sink: Sink) {}

  /** `check-write`: how many bytes may be written now. */
  checkWrite(): Res<bigint> {
    if (this.failed) return err({ tag: 'last-operation-failed', val: this.failed });
    if (this.sink.closed()) return err(CLOSED);
    return ok(BigInt(this.sink.capacity()));
  }

  /** `write`: hands bytes to the sink. The sink copies what it keeps. */
  write(bytes: Uint8Array): Res<undefined> {
    if (this.failed) return err({ tag: 'last-operation-failed', val: this.failed });
    if (this.sink.closed()) return err(CLOSED);
    const e = this.sink.write(bytes);
    if (e) {
      this.failed = e;
      return err({ tag: 'last-operation-failed', val: e });
    }
    return OK_UNIT;
  }

  /** True when writing would not have to wait. */
  writable(): boolean {
    return this.failed !== undefined || this.sink.closed() || this.sink.capacity() > 0;
  }

  drop(): void {
    this.onDrop?.();
  }
}

class StreamPollable extends Pollable {
  constructor(
    private readonly isReady: () => boolean,
    private readonly wait: () => Promise<void>,
  ) {
    super();
  }
  ready(): boolean {
    return this.isReady();
  }
  whenReady(): Promise<void> {
    return this.wait();
  }
}

function blockingRead(cx: GuestContext, self: InputStream, len: bigint): Res<Uint8Array> | Suspended {
  if (!self.readable() && len > 0n) return cx.suspend(self.whenReadable());
  return self.read(Number(len > BigInt(MAX_READ) ? BigInt(MAX_READ) : len));
}

function writeAll(cx: GuestContext, self: OutputStream, bytes: Uint8Array): Res<undefined> | Suspended {
  // Each retry re-enters with the same bytes (the guest is rewound into this call),
  // so nothing is written until all of it fits or the sink takes a partial write.
  if (!self.writable()) return cx.suspend(self.sink.whenWritable());
  return self.write(bytes);
}

/** Implementations of wasi:io/streams keyed by WIT function name. */
export const streams = {
  '[method]input-stream.read': (_cx: GuestContext, self: InputStream, len: bigint) =>
    self.read(Number(len > BigInt(MAX_READ) ? BigInt(MAX_READ) : len)),
  '[method]input-stream.blocking-read': blockingRead,
  '[method]input-stream.skip': (_cx: GuestContext, self: InputStream, len: bigint) => {
    const r = self.read(Number(len > BigInt(MAX_READ) ? BigInt(MAX_READ) : len));
    return r.tag === 'ok' ? ok(BigInt(r.val.length)) : r;
  },
  '[method]input-stream.blocking-skip': (cx: GuestContext, self: InputStream, len: bigint) => {
    const r = blockingRead(cx, self, len);
    if (r === SUSPENDED) return r;
    return r.tag === 'ok' ? ok(BigInt(r.val.length)) : r;
  },
  '[method]input-stream.subscribe': (_cx: GuestContext, self: InputStream) =>
    new StreamPollable(() => self.readable(), () => self.whenReadable()),

  '[method]output-stream.check-write': (_cx: GuestContext, self: OutputStream) => self.checkWrite(),
  '[method]output-stream.write': (cx: GuestContext, self: OutputStream, bytes: Uint8Array) => {
    const c = self.checkWrite();
    if (c.tag === 'err') return c;
    if (BigInt(bytes.length) > c.val) throw cx.trap(`output-stream.write of ${bytes.length} bytes exceeds check-write's ${c.val}`);
    return self.write(bytes);
  },
  '[method]output-stream.blocking-write-and-flush': (cx: GuestContext, self: OutputStream, bytes: Uint8Array) =>
    writeAll(cx, self, bytes),
  '[method]output-stream.flush': (_cx: GuestContext, self: OutputStream) => {
    const c = self.checkWrite();
    return c.tag === 'err' ? c : OK_UNIT;
  },
  '[method]output-stream.blocking-flush': (cx: GuestContext, self: OutputStream) => {
    if (!self.writable()) return cx.suspend(self.sink.whenWritable());
    const c = self.checkWrite();
    return c.tag === 'err' ? c : OK_UNIT;
  },
  '[method]output-stream.subscribe': (_cx: GuestContext, self: OutputStream) =>
    new StreamPollable(() => self.writable(), () => self.sink.whenWritable()),
  '[method]output-stream.write-zeroes': (cx: GuestContext, self: OutputStream, len: bigint) => {
    const c = self.checkWrite();
    if (c.tag === 'err') return c;
    if (len > c.val) throw cx.trap('output-stream.write-zeroes exceeds check-write');
    return self.write(new Uint8Array(Number(len)));
  },
  '[method]output-stream.blocking-write-zeroes-and-flush': (cx: GuestContext, self: OutputStream, len: bigint) =>
    writeAll(cx, self, new Uint8Array(Number(len > BigInt(MAX_READ) ? BigInt(MAX_READ) : len))),
  '[method]output-stream.splice': (_cx: GuestContext, self: OutputStream, src: InputStream, len: bigint) => {
    const c = self.checkWrite();
    if (c.tag === 'err') return c;
    const n = len < c.val ? len : c.val;
    const r = src.read(Number(n > BigInt(MAX_READ) ? BigInt(MAX_READ) : n));
    if (r.tag === 'err') return r;
    const w = self.write(r.val);
    return w.tag === 'err' ? w : ok(BigInt(r.val.length));
  },
  '[method]output-stream.blocking-splice': (cx: GuestContext, self: OutputStream, src: InputStream, len: bigint) => {
    if (!src.readable()) return cx.suspend(src.whenReadable());
    if (!self.writable()) return cx.suspend(self.sink.whenWritable());
    const c = self.checkWrite();
    if (c.tag === 'err') return c;
    const n = len < c.val ? len : c.val;
    const r = src.read(Number(n > BigInt(MAX_READ) ? BigInt(MAX_READ) : n));
    if (r.tag === 'err') return r;
    const w = self.write(r.val);
    return w.tag === 'err' ? w : ok(BigInt(r.val.length));
  },
};
