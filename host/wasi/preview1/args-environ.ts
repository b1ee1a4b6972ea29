/**
 * args_get, args_sizes_get, environ_get, environ_sizes_get.
 *
 * The strings are encoded once per instance as one NUL-separated block, so
 * the `_get` calls are a single copy plus one pointer write per string.
 */
import { Errno } from './errno.js';
import type { GuestMemory } from './guest-memory.js';
import type { Preview1State } from './state.js';

/** A list of strings encoded the way preview1 hands them to the guest. */
export interface EncodedStrings {
  /** How many strings. */
  count: number;
  /** All strings, each NUL-terminated, back to back. */
  block: Uint8Array;
  /** Offset of each string in `block`. */
  offsets: Uint32Array;
}

const encoder = new TextEncoder();

/**
 * Encodes strings for args/environ. A string containing NUL is rejected:
 * the guest would see it cut short, which is a quiet corruption.
 */
export function encodeStrings(strings: readonly string[]): EncodedStrings {
  const parts = strings.map((s) => {
    if (s.includes('\0')) throw new TypeError('preview1: argument or environment string contains NUL');
    return encoder.encode(s);
  });
  const size = parts.reduce((n, p) => n + p.length + 1, 0);
  const block = new Uint8Array(size);
  const offsets = new Uint32Array(parts.length);
  let at = 0;
  parts.forEach((p, i) => {
    offsets[i] = at;
    block.set(p, at);
    at += p.length + 1; // the NUL is already 0
  });
  return { count: parts.length, block, offsets };
}

function sizesGet(memory: GuestMemory, pick: () => EncodedStrings) {
  return (countPtr: number, sizePtr: number): number => {
    const strings = pick();
    const view = memory.view;
    view.setUint32(countPtr, strings.count, true);
    view.setUint32(sizePtr, strings.block.length, true);
    return Errno.success;
  };
}

function get(memory: GuestMemory, pick: () => EncodedStrings) {
  return (ptrsPtr: number, bufPtr: number): number => {
    const strings = pick();
    memory.bytes.set(strings.block, bufPtr);
    const view = memory.view;
    for (let i = 0; i < strings.count; i++) {
      view.setUint32(ptrsPtr + i * 4, bufPtr + strings.offsets[i]!, true);
    }
    return Errno.success;
  };
}

/** The four args/environ imports over the state's pre-encoded strings. */
export function argsEnvironImports(state: Preview1State) {
  const args = () => state.args;
  const env = () => state.env;
  return {
    args_sizes_get: sizesGet(state.memory, args),
    args_get: get(state.memory, args),
    environ_sizes_get: sizesGet(state.memory, env),
    environ_get: get(state.memory, env),
  };
}
