/**
 * The `errno` values of wasi_snapshot_preview1 that this implementation
 * returns. The numbers are fixed by the preview1 witx (`typenames.witx`); only
 * the ones we use are listed, under their witx names.
 */
export const Errno = {
  success: 0,
  badf: 8,
  fault: 21,
  inval: 28,
  io: 29,
  nosys: 52,
  notdir: 54,
  notsock: 57,
  notsup: 58,
  spipe: 70,
  notcapable: 76,
} as const;

/** One of the {@link Errno} values. */
export type Errno = (typeof Errno)[keyof typeof Errno];
