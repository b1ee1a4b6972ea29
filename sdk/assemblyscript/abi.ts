/**
 * Canonical-ABI plumbing shared by every binding: the return area, lifting
 * and lowering of strings and byte lists, and `cabi_realloc`.
 *
 * Strings cross the boundary as UTF-8 (the build embeds the component with
 * `string-encoding=utf8`): AssemblyScript strings are UTF-16, so a string
 * argument is encoded once here and a string result decoded once. Header
 * values and bodies are `list<u8>` anyway, so UTF-8 costs no extra code.
 */

/**
 * Scratch area where the host writes results that do not fit in one core
 * value. 64 bytes, 8-aligned: the largest result the SDK reads
 * (`future-incoming-response.get`) takes 56. Read what you need from it
 * before the next host call, which may overwrite it.
 */
export const RET: usize = memory.data(64, 8);

/**
 * The allocator the host calls to hand lists and strings to the guest. Every
 * block is an `ArrayBuffer` object of exactly `newSize` bytes, so a lifted
 * `list<u8>` becomes a `Uint8Array` without a copy (see {@link liftBytes}).
 * The stub runtime never frees: an instance lives for one request.
 */
export function cabiRealloc(oldPtr: usize, oldSize: usize, align: usize, newSize: usize): usize {
  const ptr = __new(newSize, idof<ArrayBuffer>());
  if (oldSize) memory.copy(ptr, oldPtr, min(oldSize, newSize));
  return ptr;
}

/** Encodes a string for a `string` parameter: pass `ptrOf(buf)` and `buf.byteLength`. */
// @ts-ignore: decorator
@inline export function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

/** The address of a managed object's data (an ArrayBuffer's bytes). */
// @ts-ignore: decorator
@inline export function ptrOf<T>(o: T): usize {
  return changetype<usize>(o);
}

/** Decodes a `string` the host wrote at `ptr`. */
export function liftString(ptr: usize, len: usize): string {
  return String.UTF8.decodeUnsafe(ptr, len);
}

/**
 * A `list<u8>` the host wrote at `ptr`: wrapped in place when the host
 * allocated it through {@link cabiRealloc} (the common case), copied otherwise.
 */
export function liftBytes(ptr: usize, len: usize): Uint8Array {
  if (len > 0 && load<u32>(ptr - 8) == idof<ArrayBuffer>() && <usize>load<u32>(ptr - 4) == len) {
    return Uint8Array.wrap(changetype<ArrayBuffer>(ptr));
  }
  const out = new Uint8Array(<i32>len);
  memory.copy(out.dataStart, ptr, len);
  return out;
}

/** The bytes of a string as a `Uint8Array` (UTF-8). */
export function textBytes(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

/** Decodes UTF-8 bytes to a string. */
export function bytesText(b: Uint8Array): string {
  return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.byteLength);
}
