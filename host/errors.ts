/**
 * The host's error model for API and CLI errors (not guest-visible WIT errors,
 * and not traps). Every error the admin API or the CLI reports is a
 * {@link MicronError} whose `code` is listed in {@link ERROR_CODES}; the table
 * is the single source of truth and `docs/errors.md` documents it (a test
 * checks that the two agree).
 */

/** Every stable error code with its HTTP status and a one-line meaning. */
export const ERROR_CODES = {
  bad_request: { status: 400, meaning: 'The request is malformed (bad JSON, bad query parameter).' },
  invalid_name: { status: 400, meaning: 'A function name is not 1–64 characters of a–z, 0–9 and "-", starting with a letter.' },
  invalid_config: { status: 400, meaning: 'A function configuration has an unknown key or a bad value; the message names the field.' },
  empty_body: { status: 400, meaning: 'A deploy request had an empty body.' },
  unauthorized: { status: 401, meaning: 'The admin token (or, for a function with `invokeAuth`, its bearer token) is missing or wrong.' },
  function_not_found: { status: 404, meaning: 'No function with that name (or no route matches the request).' },
  version_not_found: { status: 404, meaning: 'No version with that id for the function.' },
  not_found: { status: 404, meaning: 'No such API route.' },
  method_not_allowed: { status: 405, meaning: 'The route exists but not for this method.' },
  conflict: { status: 409, meaning: 'The change conflicts with the current state (for example deleting a version an alias points at).' },
  payload_too_large: { status: 413, meaning: 'The upload, or a request body sent to a function, is larger than the configured limit.' },
  unsupported_media_type: { status: 415, meaning: 'A deploy body must be sent as application/wasm (or application/octet-stream).' },
  invalid_wasm: { status: 422, meaning: 'The upload is not valid WebAssembly.' },
  not_a_component: { status: 422, meaning: 'The upload is a core module, not a component.' },
  invalid_component: { status: 422, meaning: 'The component failed validation or transpilation.' },
  unsupported_imports: { status: 422, meaning: 'The component imports interfaces or functions the host does not provide; the message lists them.' },
  unsupported_exports: { status: 422, meaning: 'The component exports no entry point the host can call (wasi:http/incoming-handler).' },
  header_too_large: { status: 431, meaning: 'The request has more header fields, or larger headers, than the host allows.' },
  too_many_requests: { status: 429, meaning: "The function or the host is at its concurrency limit and the function's queue is full or the wait timed out; `Retry-After` says when to retry." },
  guest_error: { status: 500, meaning: 'The function trapped, never set a response, or returned an error; details are in the host log under the request id.' },
  internal: { status: 500, meaning: 'An unexpected host error; details are in the host log under the request id.' },
  upstream_error: { status: 502, meaning: 'The function answered with a wasi:http error-code for its response.' },
  deadline_exceeded: { status: 504, meaning: 'The function ran past its deadline (computing or waiting) and was stopped.' },
  host_closed: { status: 503, meaning: 'Embedding: the host was closed; it serves and changes nothing any more (its data dir may belong to another host now). Create a new one.' },
  toolchain_missing: { status: 500, meaning: 'CLI only: a guest toolchain needed by `micron build` is not installed.' },
  build_failed: { status: 500, meaning: 'CLI only: `micron build` failed; the message has the compiler output.' },
  connection_failed: { status: 502, meaning: 'CLI only: the CLI could not reach the host.' },
} as const satisfies Record<string, { status: number; meaning: string }>;

/** A stable error code (see {@link ERROR_CODES}). */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The JSON body of every API error: `{ error: { code, message } }`. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId?: string };
}

/** An {@link ErrorBody} as JSON text (with the request id when there is one). */
export function errorBodyJson(code: ErrorCode, message: string, requestId?: string): string {
  return JSON.stringify({ error: requestId === undefined ? { code, message } : { code, message, requestId } });
}

/**
 * A host or API error with a stable code. Thrown anywhere in the host; the
 * server maps it to its status and a JSON {@link ErrorBody}, the CLI to a
 * readable message and a non-zero exit.
 */
export class MicronError extends Error {
  /** HTTP status for this code. */
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MicronError';
    this.status = ERROR_CODES[code].status;
  }

  /** The JSON body the API answers with. */
  toJSON(requestId?: string): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(requestId ? { requestId } : {}) } };
  }
}
