/**
 * wasi:http `error-code` values. Every error a guest sees from wasi:http is
 * created here, so the mapping from host failures to WIT vocabulary lives in
 * one place.
 */

/** An `error-code` variant value as the canonical ABI layer expects it. */
export type ErrorCode = { tag: string; val?: unknown };

/** `HTTP-request-denied`: the operator's allow-list does not name the destination. */
export const requestDenied = (): ErrorCode => ({ tag: 'HTTP-request-denied' });

/** `HTTP-request-URI-invalid`: scheme, authority or path cannot form a URL. */
export const requestUriInvalid = (): ErrorCode => ({ tag: 'HTTP-request-URI-invalid' });

/** `HTTP-request-method-invalid`. */
export const requestMethodInvalid = (): ErrorCode => ({ tag: 'HTTP-request-method-invalid' });

/** `internal-error(msg)`. */
export const internalError = (message?: string): ErrorCode => ({ tag: 'internal-error', val: message });

/** `HTTP-response-body-size(limit)`: an outbound response body exceeded the limit. */
export const responseBodySize = (limit: number): ErrorCode => ({ tag: 'HTTP-response-body-size', val: BigInt(limit) });

/** `connection-timeout`. */
export const connectionTimeout = (): ErrorCode => ({ tag: 'connection-timeout' });

/**
 * Maps a failure of the host's outbound client (host/wasi/http/client.ts) to
 * the closest error-code: node's network errors carry an errno-style `code`,
 * the client's own failures a {@link ClientErrorCode}.
 */
export function fromClientError(e: unknown): ErrorCode {
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  const code = (e as { code?: string })?.code ?? cause?.code;
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { tag: 'DNS-error', val: { rcode: code, 'info-code': undefined } };
    case 'ECONNREFUSED':
      return { tag: 'connection-refused' };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'RESPONSE_INCOMPLETE':
      return { tag: 'connection-terminated' };
    case 'ETIMEDOUT':
    case 'CONNECT_TIMEOUT':
      return { tag: 'connection-timeout' };
    case 'FIRST_BYTE_TIMEOUT':
      return { tag: 'HTTP-response-timeout' };
    case 'BETWEEN_BYTES_TIMEOUT':
      return { tag: 'connection-read-timeout' };
    case 'CONTENT_LENGTH_MISMATCH':
      return { tag: 'HTTP-request-body-size', val: undefined };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { tag: 'destination-unavailable' };
    default:
      if ((e as { name?: string })?.name === 'AbortError' || (e as { name?: string })?.name === 'TimeoutError') {
        return { tag: 'connection-timeout' };
      }
      return internalError(cause?.message ?? (e instanceof Error ? e.message : String(e)));
  }
}
