/**
 * What one invocation leaves behind: timings, sizes, the billed duration and
 * the guest's output lines, under the request id the client saw.
 */

/** One line the guest wrote to stdout or stderr. */
export interface GuestLogLine {
  stream: 'stdout' | 'stderr';
  line: string;
}

/** The record of one invocation. Times are in µs unless named otherwise. */
export interface InvocationRecord {
  /** Position in the function's record log: increases by one per invocation (a cursor for `since`). */
  seq: number;
  /** When the invocation started, ms since the Unix epoch. */
  startedAt: number;
  requestId: string;
  function: string;
  version: string;
  /** The HTTP status of the answer (the generic 5xx for a failed invocation). */
  status: number;
  /** `ok`, or how it failed: `trap`, `no-response`, `error-code`. */
  outcome: 'ok' | 'trap' | 'no-response' | 'error-code';
  /** From the start of the request until the guest finished (a streamed body included; a cold start's load included). */
  totalUs: number;
  /** Loading the function's component for this request (a cold start), included in `totalUs`; 0 when it was cached. */
  loadUs: number;
  /** Creating (or resetting) the instance. */
  instantiateUs: number;
  /** Time spent running guest code (waits excluded). */
  guestUs: number;
  /** True when the version's component was compiled for this request (not in the module cache). */
  cold: boolean;
  /** Linear memory size at the end, in 64 KiB pages. */
  memoryPages: number;
  /** Request body bytes the guest read. */
  bytesIn: number;
  /** Response body bytes the guest wrote. */
  bytesOut: number;
  /** Memory (GB) × duration (s), the duration rounded up to whole milliseconds. */
  billedGbS: number;
  /** The guest's stdout and stderr lines, in order (bounded per invocation by the host's log limit). */
  logs: readonly GuestLogLine[];
  /** Guest output bytes dropped because they were over that limit. */
  logDropped: number;
  /** For a failed invocation: what went wrong (the trap message). Never sent to the client. */
  detail?: string;
}

const BYTES_PER_GB = 1024 * 1024 * 1024;

/**
 * Billed GB-seconds: memory in GB (pages × 64 KiB / 2^30) times the duration
 * rounded up to whole milliseconds (the seed platforms round to 100 ms; we do
 * not). A duration under 1 ms bills 1 ms.
 */
export function billedGbS(memoryPages: number, totalUs: number): number {
  const ms = Math.max(1, Math.ceil(totalUs / 1000));
  return ((memoryPages * 65536) / BYTES_PER_GB) * (ms / 1000);
}

/**
 * The record's fields as JSON without the surrounding braces, for the host
 * log line and the live tail. Hand-written for this one shape: the strings a
 * host makes (request id, function name, version id, outcome) need no
 * escaping, and only guest output and the detail go through JSON.stringify.
 */
export function recordJsonFields(r: InvocationRecord): string {
  return (
    `"seq":${r.seq},"startedAt":${r.startedAt},"requestId":"${r.requestId}","function":"${r.function}","version":"${r.version}",` +
    `"status":${r.status},"outcome":"${r.outcome}","totalUs":${r.totalUs},"loadUs":${r.loadUs},"instantiateUs":${r.instantiateUs},"guestUs":${r.guestUs},` +
    `"cold":${r.cold},"memoryPages":${r.memoryPages},"bytesIn":${r.bytesIn},"bytesOut":${r.bytesOut},"billedGbS":${r.billedGbS},` +
    `"logs":${r.logs.length === 0 ? '[]' : JSON.stringify(r.logs)},"logDropped":${r.logDropped}` +
    (r.detail === undefined ? '' : `,"detail":${JSON.stringify(r.detail)}`)
  );
}
