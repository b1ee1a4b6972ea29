/**
 * A trap raised by the host on behalf of a guest: a canonical-ABI violation
 * (bad handle, out-of-bounds pointer, invalid UTF-8), a wasi:http rule the
 * guest broke (setting the response twice), or a host-enforced limit. A trap
 * ends the invocation; the instance is discarded and the client sees a generic
 * 5xx with a request id, while the message goes to the log.
 */
export class Trap extends Error {
  constructor(
    message: string,
    /** A stable reason, used for metrics and the client-facing status. */
    readonly reason: TrapReason = 'guest_trap',
  ) {
    super(message);
    this.name = 'Trap';
  }
}

/** Why an invocation ended abnormally. */
export type TrapReason =
  | 'guest_trap'
  | 'abi_violation'
  | 'deadline'
  | 'memory_limit'
  | 'output_limit'
  | 'exit';
