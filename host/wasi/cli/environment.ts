/**
 * wasi:cli/environment and wasi:cli/exit. A guest sees only the variables the
 * operator configured for its function, no arguments, and no working
 * directory: nothing of the host's own environment.
 */
import { Trap } from '../../abi/trap.js';
import type { GuestContext } from '../context.js';

/** Implementations of wasi:cli/environment keyed by WIT function name. */
export const environment = {
  'get-environment': (cx: GuestContext) => cx.policy.env.map(([k, v]) => [k, v]),
  'get-arguments': (): string[] => [],
  'initial-cwd': (): string | undefined => undefined,
};

/** Implementations of wasi:cli/exit keyed by WIT function name. */
export const exit = {
  exit: (_cx: GuestContext, status: { tag: 'ok' | 'err' }): never => {
    throw new Trap(`guest called wasi:cli/exit with ${status.tag === 'ok' ? 'success' : 'failure'}`, 'exit');
  },
  'exit-with-code': (_cx: GuestContext, code: number): never => {
    throw new Trap(`guest called wasi:cli/exit-with-code(${code})`, 'exit');
  },
};
