/**
 * The one place where host errors become HTTP answers: a MicronError keeps its
 * status and code; anything else is logged and answered as a generic 500 with
 * a request id, so no stack trace or internal detail reaches a client.
 */
import type { Context } from 'hono';
import { errorBodyJson, MicronError, type ErrorCode } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import { newRequestId, REQUEST_ID_HEADER } from '../runtime/runtime.js';

/** A JSON error response `{ error: { code, message } }`. */
export function errorResponse(code: ErrorCode, message: string, status: number, extraHeaders?: Record<string, string>): Response {
  return new Response(errorBodyJson(code, message), {
    status,
    headers: { 'content-type': 'application/json', ...extraHeaders },
  });
}

/** Builds a Hono `onError` handler that maps errors and logs unexpected ones. */
export function onError(logger: Logger) {
  return (err: Error, _c: Context): Response => {
    if (err instanceof MicronError) return errorResponse(err.code, err.message, err.status);
    const requestId = newRequestId();
    logger.error('unhandled error', { requestId, error: err.stack ?? String(err) });
    return errorResponse('internal', `internal error; details are in the host log under request id ${requestId}`, 500, {
      [REQUEST_ID_HEADER]: requestId,
    });
  };
}
