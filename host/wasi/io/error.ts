/**
 * wasi:io/error. An `error` resource carries a host-side description that a
 * guest can read with `to-debug-string`; wasi:http can downcast it to an
 * `error-code` with `http-error-code`.
 */
import type { GuestContext } from '../context.js';

/** The host object behind a wasi:io `error` handle. */
export class IoError {
  constructor(
    readonly message: string,
    /** A wasi:http error-code value when the error came from HTTP, for `http-error-code`. */
    readonly httpErrorCode?: { tag: string; val?: unknown },
  ) {}
}

/** Implementations of wasi:io/error keyed by WIT function name. */
export const error = {
  '[method]error.to-debug-string': (_cx: GuestContext, self: IoError): string => self.message,
};
