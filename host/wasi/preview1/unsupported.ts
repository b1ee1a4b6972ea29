/**
 * The path_* and sock_* functions: a guest has no directories (no preopens)
 * and no sockets, so these only report that. Every path_* call names a
 * directory descriptor, which cannot be valid (EBADF); sock_* on stdio is
 * ENOTSOCK, on anything else EBADF.
 */
import { Errno } from './errno.js';

const badf = () => Errno.badf;
const notSocket = (fd: number) => (fd >= 0 && fd <= 2 ? Errno.notsock : Errno.badf);

/** The path_* and sock_* imports. */
export function unsupportedImports() {
  return {
    path_create_directory: badf,
    path_filestat_get: badf,
    path_filestat_set_times: badf,
    path_link: badf,
    path_open: badf,
    path_readlink: badf,
    path_remove_directory: badf,
    path_rename: badf,
    path_symlink: (_oldPtr: number, _oldLen: number, _fd: number) => Errno.badf,
    path_unlink_file: badf,
    sock_accept: notSocket,
    sock_recv: notSocket,
    sock_send: notSocket,
    sock_shutdown: notSocket,
  };
}
