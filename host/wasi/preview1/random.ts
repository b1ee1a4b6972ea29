/** random_get: bytes from the host's CSPRNG, written straight into guest memory. */
import { randomFillSync } from 'node:crypto';
import { Errno } from './errno.js';
import type { Preview1State } from './state.js';

/** The random_get import. */
export function randomImports(state: Preview1State) {
  const memory = state.memory;
  return {
    random_get(bufPtr: number, length: number): number {
      if (length === 0) return Errno.success;
      const bytes = memory.bytes;
      if (bufPtr + length > bytes.length) return Errno.fault;
      randomFillSync(bytes, bufPtr, length);
      return Errno.success;
    },
  };
}
