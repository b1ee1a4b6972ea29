/**
 * Canonical-ABI imports of `wasi:io/streams@0.2.12`.
 *
 * Result layouts written at `ret`:
 * - result<list<u8>, stream-error>: tag u8 @0; ok: ptr @4, len @8;
 *   err: stream-error tag u8 @4 (0 = last-operation-failed(error @8), 1 = closed).
 * - result<u64, stream-error>: tag u8 @0; ok: u64 @8; err: tag u8 @8, error @12.
 * - result<_, stream-error>: tag u8 @0; err: tag u8 @4, error @8.
 */

@external("wasi:io/streams@0.2.12", "[method]input-stream.blocking-read")
export declare function inputStreamBlockingRead(self: i32, len: u64, ret: usize): void;

@external("wasi:io/streams@0.2.12", "[resource-drop]input-stream")
export declare function inputStreamDrop(self: i32): void;

@external("wasi:io/streams@0.2.12", "[method]output-stream.check-write")
export declare function outputStreamCheckWrite(self: i32, ret: usize): void;

@external("wasi:io/streams@0.2.12", "[method]output-stream.write")
export declare function outputStreamWrite(self: i32, ptr: usize, len: usize, ret: usize): void;

/** Writes at most 4096 bytes, then blocks until they are flushed. */
@external("wasi:io/streams@0.2.12", "[method]output-stream.blocking-write-and-flush")
export declare function outputStreamBlockingWriteAndFlush(self: i32, ptr: usize, len: usize, ret: usize): void;

@external("wasi:io/streams@0.2.12", "[method]output-stream.blocking-flush")
export declare function outputStreamBlockingFlush(self: i32, ret: usize): void;

@external("wasi:io/streams@0.2.12", "[method]output-stream.subscribe")
export declare function outputStreamSubscribe(self: i32): i32;

/** Moves up to `len` bytes from `src` without copying them through guest memory. */
@external("wasi:io/streams@0.2.12", "[method]output-stream.blocking-splice")
export declare function outputStreamBlockingSplice(self: i32, src: i32, len: u64, ret: usize): void;

@external("wasi:io/streams@0.2.12", "[resource-drop]output-stream")
export declare function outputStreamDrop(self: i32): void;
