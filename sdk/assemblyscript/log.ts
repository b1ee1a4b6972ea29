/** {@link log} and {@link logError}: lines on the function's stdout and stderr (`wasi:cli`). */
import { RET, utf8, ptrOf } from "./abi";
import { getStdout } from "./wasi/cli/stdout";
import { getStderr } from "./wasi/cli/stderr";
import { outputStreamBlockingWriteAndFlush } from "./wasi/io/streams";

let stdout: i32 = -1;
let stderr: i32 = -1;

function writeLine(stream: i32, message: string): void {
  const b = utf8(message + "\n");
  let p = ptrOf(b);
  let left = b.byteLength;
  while (left > 0) {
    const n = min(left, 4096);
    outputStreamBlockingWriteAndFlush(stream, p, n, RET);
    if (load<u8>(RET) != 0) return;
    p += n;
    left -= n;
  }
}

/** Writes `message` and a newline to stdout (the host's function log). */
export function log(message: string): void {
  if (stdout < 0) stdout = getStdout();
  writeLine(stdout, message);
}

/** Writes `message` and a newline to stderr. */
export function logError(message: string): void {
  if (stderr < 0) stderr = getStderr();
  writeLine(stderr, message);
}
