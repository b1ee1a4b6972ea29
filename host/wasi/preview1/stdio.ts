/**
 * The fd_* functions. A guest has exactly three descriptors: 0 (stdin, the
 * request body), 1 (stdout) and 2 (stderr), all character devices. There are
 * no preopens and no way to open anything, so every other descriptor is
 * EBADF, and file-only operations on stdio get the errno Linux gives for a
 * pipe or tty (ESPIPE for seeking, EINVAL for sync, ENOTDIR for readdir).
 */
import { setU64 } from './clocks.js';
import { Errno } from './errno.js';
import type { Preview1State } from './state.js';

const FILETYPE_CHARACTER_DEVICE = 2;
const RIGHT_FD_READ = 1n << 1n;
const RIGHT_FD_WRITE = 1n << 6n;
const RIGHT_POLL_FD_READWRITE = 1n << 27n;
const STDIN_RIGHTS = RIGHT_FD_READ | RIGHT_POLL_FD_READWRITE;
const STDOUT_RIGHTS = RIGHT_FD_WRITE | RIGHT_POLL_FD_READWRITE;

/** The fd_* imports over the state's stdio. */
export function stdioImports(state: Preview1State) {
  const memory = state.memory;
  const stdio = state;
  // fd_close on a descriptor makes it EBADF from then on.
  const isOpen = (fd: number) => fd >= 0 && fd <= 2 && (state.openFds & (1 << fd)) !== 0;
  // Answer for operations that exist for files but not for stdio.
  const onStdio = (errno: Errno) => (fd: number) => (isOpen(fd) ? errno : Errno.badf);

  return {
    fd_write(fd: number, iovsPtr: number, iovsLen: number, nwrittenPtr: number): number {
      const out = fd === 1 ? stdio.stdout : fd === 2 ? stdio.stderr : undefined;
      if (out === undefined || !isOpen(fd)) return Errno.badf;
      const view = memory.view;
      const bytes = memory.bytes;
      let written = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = view.getUint32(iovsPtr + i * 8, true);
        const len = view.getUint32(iovsPtr + i * 8 + 4, true);
        if (ptr + len > bytes.length) return Errno.fault;
        out.write(bytes.subarray(ptr, ptr + len));
        written += len;
      }
      view.setUint32(nwrittenPtr, written, true);
      return Errno.success;
    },

    fd_read(fd: number, iovsPtr: number, iovsLen: number, nreadPtr: number): number {
      if (fd !== 0 || !isOpen(fd)) return Errno.badf;
      const view = memory.view;
      const bytes = memory.bytes;
      let read = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = view.getUint32(iovsPtr + i * 8, true);
        const len = view.getUint32(iovsPtr + i * 8 + 4, true);
        if (ptr + len > bytes.length) return Errno.fault;
        const n = stdio.stdin.readInto(bytes, ptr, len);
        read += n;
        if (n < len) break;
      }
      view.setUint32(nreadPtr, read, true);
      return Errno.success;
    },

    fd_fdstat_get(fd: number, statPtr: number): number {
      if (!isOpen(fd)) return Errno.badf;
      const view = memory.view;
      view.setUint8(statPtr, FILETYPE_CHARACTER_DEVICE);
      view.setUint8(statPtr + 1, 0);
      view.setUint16(statPtr + 2, 0, true); // fdflags: blocking, not append
      view.setUint32(statPtr + 4, 0, true);
      view.setBigUint64(statPtr + 8, fd === 0 ? STDIN_RIGHTS : STDOUT_RIGHTS, true);
      view.setBigUint64(statPtr + 16, 0n, true);
      return Errno.success;
    },

    fd_fdstat_set_flags(fd: number, flags: number): number {
      if (!isOpen(fd)) return Errno.badf;
      // Blocking and non-append is the only mode there is; asking for it is fine.
      return flags === 0 ? Errno.success : Errno.notsup;
    },

    fd_fdstat_set_rights: onStdio(Errno.notcapable),

    fd_filestat_get(fd: number, bufPtr: number): number {
      if (!isOpen(fd)) return Errno.badf;
      const bytes = memory.bytes;
      bytes.fill(0, bufPtr, bufPtr + 64);
      memory.view.setUint8(bufPtr + 16, FILETYPE_CHARACTER_DEVICE);
      setU64(memory.view, bufPtr + 24, 1); // nlink
      return Errno.success;
    },

    fd_prestat_get(_fd: number, _bufPtr: number): number {
      return Errno.badf; // no preopens: a guest's scan for them stops at fd 3
    },
    fd_prestat_dir_name(_fd: number, _pathPtr: number, _pathLen: number): number {
      return Errno.badf;
    },

    fd_close(fd: number): number {
      if (!isOpen(fd)) return Errno.badf;
      state.openFds &= ~(1 << fd);
      return Errno.success;
    },

    fd_seek: onStdio(Errno.spipe),
    fd_tell: onStdio(Errno.spipe),
    fd_pread: onStdio(Errno.spipe),
    fd_pwrite: onStdio(Errno.spipe),
    fd_advise: onStdio(Errno.spipe),
    fd_allocate: onStdio(Errno.spipe),
    fd_sync: onStdio(Errno.inval),
    fd_datasync: onStdio(Errno.inval),
    fd_readdir: onStdio(Errno.notdir),
    fd_filestat_set_size: onStdio(Errno.inval),
    fd_filestat_set_times: onStdio(Errno.inval),
    fd_renumber: (from: number, to: number) => (isOpen(from) && isOpen(to) ? Errno.notsup : Errno.badf),
  };
}
