/**
 * wasi:random/random, insecure and insecure-seed, backed by the host's CSPRNG.
 * Requests are capped so a guest cannot make the host allocate without bound.
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import type { GuestContext } from '../context.js';

const MAX_RANDOM = 1 << 20;
const u64 = new BigUint64Array(1);

function bytes(cx: GuestContext, len: bigint): Uint8Array {
  if (len > BigInt(MAX_RANDOM)) throw cx.trap(`get-random-bytes(${len}) exceeds the ${MAX_RANDOM}-byte limit`);
  return randomBytes(Number(len));
}

function nextU64(): bigint {
  randomFillSync(u64);
  return u64[0]!;
}

/** Implementations of wasi:random/random keyed by WIT function name. */
export const random = {
  'get-random-bytes': bytes,
  'get-random-u64': nextU64,
};

/** Implementations of wasi:random/insecure keyed by WIT function name. */
export const insecure = {
  'get-insecure-random-bytes': bytes,
  'get-insecure-random-u64': nextU64,
};

/** Implementations of wasi:random/insecure-seed keyed by WIT function name. */
export const insecureSeed = {
  'insecure-seed': () => [nextU64(), nextU64()],
};
