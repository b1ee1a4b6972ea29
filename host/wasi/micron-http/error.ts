/**
 * The errors a command guest sees from micron:http/outbound. Every one is
 * made here, so what a guest can learn about a refused or failed request
 * (and how it is worded) lives in one place. A guest receives an error as
 * two lines, the kind and the message (the Go SDK's `OutboundError`).
 */

/** What went wrong, as the guest sees it (the first line of an error result). */
export type OutboundErrorKind = 'denied' | 'invalid-request' | 'too-large' | 'timeout' | 'connection' | 'unavailable';

/** A refused or failed outbound request. */
export class OutboundFailure extends Error {
  constructor(
    /** The kind the guest sees. */
    readonly kind: OutboundErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'OutboundFailure';
  }

  /** The result bytes the guest reads: `kind\nmessage`. */
  encode(): Uint8Array {
    return new TextEncoder().encode(`${this.kind}\n${this.message}`);
  }
}

/** The URL's host is not on the function's allow-list. */
export function denied(url: URL): OutboundFailure {
  return new OutboundFailure('denied', `micron: outbound request denied: host ${JSON.stringify(url.host)} is not in this function's allowedHosts`);
}

/** The request does not parse, or its URL is not an absolute http(s) URL. */
export function invalidRequest(detail: string): OutboundFailure {
  return new OutboundFailure('invalid-request', `micron: invalid outbound request: ${detail}`);
}

/** The request body is over the function's limit on what it may send. */
export function requestTooLarge(limit: number): OutboundFailure {
  return new OutboundFailure('too-large', `micron: outbound request body is larger than the function's limit of ${limit} bytes`);
}

/** The response body is over the function's outbound response limit. */
export function responseTooLarge(url: URL, limit: number): OutboundFailure {
  return new OutboundFailure('too-large', `micron: outbound response from ${url.href} is larger than the function's limit of ${limit} bytes`);
}

/** The guest's own timeout (its request context's deadline) passed. */
export function timedOut(url: URL, ms: number): OutboundFailure {
  return new OutboundFailure('timeout', `micron: outbound request to ${url.href} timed out after ${ms} ms`);
}

/** The host cannot wait for a response here (see the caller for why). */
export function unavailable(why: string): OutboundFailure {
  return new OutboundFailure('unavailable', `micron: outbound HTTP is not available ${why}`);
}

/**
 * A failure of the host's outbound client (host/wasi/http/client.ts): a
 * request it refuses to send (node's TypeError for a header it cannot write,
 * a body that is not its declared content-length) is an invalid request;
 * anything else failed on the way (`connect ECONNREFUSED 127.0.0.1:1`,
 * `getaddrinfo ENOTFOUND x`, a timeout, a cut-off response).
 */
export function fromClientError(url: URL, error: unknown): OutboundFailure {
  if (error instanceof TypeError || (error as { code?: unknown } | undefined)?.code === 'CONTENT_LENGTH_MISMATCH') return invalidRequest((error as Error).message);
  const detail = error instanceof Error ? error.message : String(error);
  return new OutboundFailure('connection', `micron: outbound request to ${url.href} failed: ${detail}`);
}
