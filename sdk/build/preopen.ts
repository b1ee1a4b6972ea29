/**
 * jco's bundled wasm-tools reads WIT folders through preview2-shim's
 * filesystem, which has no default preopens. {@link withPreopen} grants one
 * directory for the duration of a build step and removes exactly that entry
 * again. One queue for the whole process, since the preopen table is global.
 * Build tools only: a host process must never preopen the filesystem.
 */

/**
 * The Node flavour of preview2-shim's filesystem. TypeScript resolves the
 * package's `types` condition, which describes the browser build; at run
 * time Node loads the build that maps host paths.
 */
interface NodeShimFilesystem {
  _addPreopen(virtualPath: string, hostPath: string): void;
  preopens: { getDirectories(): unknown[] };
}

let queue: Promise<unknown> = Promise.resolve();

/** Runs `run` with `dir` preopened (at the same path) in preview2-shim, then removes that preopen. */
export async function withPreopen<T>(dir: string, run: () => Promise<T>): Promise<T> {
  const fs = (await import('@bytecodealliance/preview2-shim/filesystem')) as unknown as NodeShimFilesystem;
  const next = queue.then(async () => {
    fs._addPreopen(dir, dir);
    const table = fs.preopens.getDirectories();
    const added = table[table.length - 1];
    try {
      return await run();
    } finally {
      const index = table.indexOf(added);
      if (index >= 0) table.splice(index, 1);
    }
  });
  queue = next.catch(() => undefined);
  return next;
}
