/**
 * wasi:cli/stdin, stdout, stderr and the terminal interfaces. Guest output is
 * captured per invocation into a bounded buffer that the host logs with the
 * function name and request id; stdin is empty; there is never a terminal.
 */
import type { GuestContext } from '../context.js';
import type { IoError } from '../io/error.js';
import { InputStream, OutputStream, type Sink } from '../io/streams.js';

class LogSink implements Sink {
  constructor(
    private readonly cx: GuestContext,
    private readonly stream: 'stdout' | 'stderr',
  ) {}
  capacity(): number {
    return 1 << 20;
  }
  write(bytes: Uint8Array): IoError | undefined {
    this.cx.writeLog(this.stream, bytes);
    return undefined;
  }
  whenWritable(): Promise<void> {
    return Promise.resolve();
  }
  closed(): boolean {
    return false;
  }
}

/** Implementations of wasi:cli/stdout keyed by WIT function name. */
export const stdout = {
  'get-stdout': (cx: GuestContext) => new OutputStream(new LogSink(cx, 'stdout')),
};

/** Implementations of wasi:cli/stderr keyed by WIT function name. */
export const stderr = {
  'get-stderr': (cx: GuestContext) => new OutputStream(new LogSink(cx, 'stderr')),
};

const EMPTY = new Uint8Array(0);

/** Implementations of wasi:cli/stdin keyed by WIT function name. */
export const stdin = {
  'get-stdin': () => InputStream.of(EMPTY),
};

/** wasi:cli/terminal-*: the guest never has a terminal. */
export const terminalStdin = { 'get-terminal-stdin': (): undefined => undefined };
/** See {@link terminalStdin}. */
export const terminalStdout = { 'get-terminal-stdout': (): undefined => undefined };
/** See {@link terminalStdin}. */
export const terminalStderr = { 'get-terminal-stderr': (): undefined => undefined };
