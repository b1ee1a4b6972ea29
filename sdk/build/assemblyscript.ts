/**
 * Builds an AssemblyScript handler into a `wasi:http@0.2.12` component:
 * asc (with the SDK's transform) → core module → `componentEmbed` against
 * `wit/` world `handler` → `componentNew` (no preview1 adapter: the SDK
 * imports WASI 0.2 directly).
 *
 * The SDK is importable as `micron/sdk/assemblyscript` from any project this
 * builds, whether or not `micron` is installed in its node_modules: asc's file
 * reads for that package are answered from this checkout's `sdk/assemblyscript`,
 * so the SDK, the transform and this builder always match.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { MicronError } from '../../host/errors.js';
import { withPreopen } from './preopen.js';

/** Options for {@link buildAssemblyScript}. */
export interface AssemblyScriptBuildOptions {
  /** Where to write the component; default `<dir>/<basename of dir>.wasm`. */
  out?: string;
  /** Called with a one-line description of each step. */
  onProgress?: (msg: string) => void;
}

/** What {@link buildAssemblyScript} wrote. */
export interface AssemblyScriptBuildResult {
  /** Absolute path of the component. */
  output: string;
  /** Its size in bytes. */
  bytes: number;
}

const SDK_DIR = fileURLToPath(new URL('../assemblyscript/', import.meta.url));
const TRANSFORM = path.join(SDK_DIR, 'transform', 'wit-exports.mjs');
/** The micron package root: `micron/<rest>` imports resolve against it. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WIT_DIR = path.join(PACKAGE_ROOT, 'wit');
const WORLD = 'handler';
/** Entry files tried, in order, when asconfig.json names none. */
const ENTRY_CANDIDATES = ['index.ts', 'assembly/index.ts', 'src/index.ts'];

/**
 * The asc flags every build uses.
 * - `--runtime stub`: a bump allocator and no garbage collector. Micron runs
 *   each request in a fresh instance, so collecting would only cost time and
 *   code; stub is the smallest runtime (the hello component is about 10 KB,
 *   about 1.5 KB more with `minimal`). A project can choose `minimal` with
 *   `"runtime"` in asconfig.json's options.
 * - `-Oz --converge`: smallest code, optimizing until it stops shrinking.
 * - `--noAssert`: assertions become no-ops (smaller, and an assertion could
 *   only trap anyway).
 * - `--use abort=`: without it the module imports `env.abort`, which a
 *   component cannot satisfy. The transform then points `abort` at the
 *   SDK's `__micronAbort`, which writes the message and its place to stderr
 *   (the host logs it under the request id) and traps.
 * - `--exportStart __micron_start`: no core start function; the transform
 *   runs the top-level code on the first call instead, when the host can
 *   serve imports (so `const key = env("KEY")` at top level works).
 */
const BASE_FLAGS = ['-Oz', '--noAssert', '--converge', '--use', 'abort=', '--exportStart', '__micron_start', '--noColors'];

/**
 * Builds the AssemblyScript project in `dir` into a component.
 *
 * The entry is asconfig.json's `entries`, else the first of `index.ts`,
 * `assembly/index.ts`, `src/index.ts`. It must export
 * `handle(req: Request): Response` or `handleStream(req: Request, res: ResponseWriter): void`.
 *
 * @throws MicronError `toolchain_missing` when the AssemblyScript compiler
 *   cannot be loaded, `build_failed` (with the compiler's output) otherwise.
 *
 * @example
 * ```ts
 * const { output, bytes } = await buildAssemblyScript('components/as-hello');
 * ```
 */
export async function buildAssemblyScript(
  dir: string,
  opts: AssemblyScriptBuildOptions = {},
): Promise<AssemblyScriptBuildResult> {
  const progress = opts.onProgress ?? (() => {});
  const root = path.resolve(dir);
  const output = path.resolve(opts.out ?? path.join(root, `${path.basename(root)}.wasm`));

  const config = await readAsconfig(root);
  const args: string[] = [];
  if (!config.hasEntries) args.push(findEntry(root));
  args.push('--baseDir', root, '--outFile', 'core.wasm', '--transform', TRANSFORM, ...BASE_FLAGS);
  if (!config.runtime) args.push('--runtime', 'stub');

  const ascFile = findAssemblyScript(root);
  progress(`asc ${args.join(' ')}`);
  const { core, log } = await compile(ascFile, args, root);
  if (log) progress(log);

  checkImports(core, root);
  progress(`embedding WIT world ${WORLD} (string encoding utf8)`);
  const { componentEmbed, componentNew } = await import('@bytecodealliance/jco');
  let component: Uint8Array;
  try {
    const embedded = await withPreopen(WIT_DIR, () =>
      componentEmbed({ binary: core, witPath: WIT_DIR, world: WORLD, stringEncoding: 'utf8' }),
    );
    progress('creating component (no adapter)');
    component = await componentNew(embedded, []);
  } catch (err) {
    throw new MicronError('build_failed', `${root}: creating the component failed: ${explain(err)}`, {
      cause: err,
    });
  }

  await mkdir(path.dirname(output), { recursive: true });
  await writeFile(output, component);
  progress(`wrote ${output} (${component.byteLength} bytes)`);
  return { output, bytes: component.byteLength };
}

/**
 * Runtimes a project may choose in asconfig.json. Not `incremental`: its
 * collector runs during allocations and could free a buffer the host just
 * handed over through `cabi_realloc`, which nothing references yet.
 */
const RUNTIMES = ['stub', 'minimal'];

/** The parts of asconfig.json that change the command line. */
async function readAsconfig(root: string): Promise<{ hasEntries: boolean; runtime: boolean }> {
  const file = path.join(root, 'asconfig.json');
  if (!existsSync(file)) return { hasEntries: false, runtime: false };
  let json: { entries?: unknown; options?: { runtime?: unknown } };
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new MicronError('build_failed', `${file}: not valid JSON: ${explain(err)}`, { cause: err });
  }
  const runtime = json.options?.runtime;
  if (runtime !== undefined && !RUNTIMES.includes(String(runtime))) {
    throw new MicronError(
      'build_failed',
      `${file}: runtime ${JSON.stringify(runtime)} is not supported (use ${RUNTIMES.join(' or ')})`,
    );
  }
  return { hasEntries: Array.isArray(json.entries) && json.entries.length > 0, runtime: runtime !== undefined };
}

function findEntry(root: string): string {
  const entry = ENTRY_CANDIDATES.find((candidate) => existsSync(path.join(root, candidate)));
  if (!entry) {
    throw new MicronError(
      'build_failed',
      `${root}: no entry file (looked for asconfig.json "entries", ${ENTRY_CANDIDATES.join(', ')})`,
    );
  }
  return entry;
}

/** What to run when no AssemblyScript compiler is found. */
export const ASSEMBLYSCRIPT_INSTALL_HINT = 'npm install --save-dev assemblyscript';

/**
 * Finds the compiler (`dist/asc.js`): micron's own devDependency if present,
 * else the project's `node_modules/assemblyscript` (nearest first, from `root`).
 *
 * @throws MicronError `toolchain_missing`, saying what to install.
 */
export function findAssemblyScript(root: string = process.cwd()): string {
  try {
    const pkg = createRequire(import.meta.url).resolve('assemblyscript/package.json');
    return path.join(path.dirname(pkg), 'dist', 'asc.js');
  } catch {
    for (let d = root; ; d = path.dirname(d)) {
      const file = path.join(d, 'node_modules', 'assemblyscript', 'dist', 'asc.js');
      if (existsSync(file)) return file;
      if (path.dirname(d) === d) break;
    }
  }
  throw new MicronError(
    'toolchain_missing',
    `the AssemblyScript compiler is not installed (looked for micron's own and ${root}'s node_modules/assemblyscript): ` +
      `run \`${ASSEMBLYSCRIPT_INSTALL_HINT}\` in the project`,
  );
}

/**
 * Runs asc in a worker thread and returns the core module. A worker without
 * the parent's `execArgv`: under a TypeScript loader (tsx) importing asc
 * (a 3 MB bundle plus binaryen) takes seconds instead of half a second.
 *
 * The worker reads files for asc; `…/node_modules/micron/sdk/assemblyscript/…`
 * is served from this checkout's SDK (and nothing else of the package is).
 */
const COMPILE_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFile } = require('node:fs/promises');
const path = require('node:path');
const { ascUrl, args, packageRoot } = workerData;
const PACKAGE_DIR = '/node_modules/micron/';
async function readSource(name, baseDir) {
  let file = path.resolve(baseDir, name);
  const normalized = file.split(path.sep).join('/');
  const at = normalized.lastIndexOf(PACKAGE_DIR);
  if (at >= 0) {
    const rest = normalized.slice(at + PACKAGE_DIR.length);
    if (rest.startsWith('sdk/assemblyscript')) file = path.join(packageRoot, rest);
  }
  try { return await readFile(file, 'utf8'); } catch { return null; }
}
(async () => {
  const asc = await import(ascUrl);
  const stdout = asc.createMemoryStream();
  const stderr = asc.createMemoryStream();
  let core = null;
  const result = await asc.main(args, {
    stdout, stderr, readFile: readSource,
    writeFile: (name, contents) => { if (name === 'core.wasm' && typeof contents !== 'string') core = contents; },
  });
  parentPort.postMessage({ error: result.error ? result.error.message : null, log: stderr.toString(), core });
})().catch((e) => parentPort.postMessage({ error: String((e && e.stack) || e), log: '', core: null }));
`;

interface CompileReply {
  error: string | null;
  log: string;
  core: Uint8Array<ArrayBuffer> | null;
}

/** Runs asc; returns the core module and any warnings it printed. */
async function compile(
  ascFile: string,
  args: string[],
  root: string,
): Promise<{ core: Uint8Array<ArrayBuffer>; log: string }> {
  const workerData = { ascUrl: pathToFileURL(ascFile).href, args, packageRoot: PACKAGE_ROOT };
  const worker = new Worker(COMPILE_WORKER, { eval: true, execArgv: [], workerData });
  const reply = await new Promise<CompileReply>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the compiler worker exited with code ${code}`)));
  }).finally(() => void worker.terminate());
  if (reply.error || !reply.core) {
    // asc's own output already ends with the error ("FAILURE …").
    const log = reply.log.trim() || reply.error || 'no output';
    throw new MicronError('build_failed', `${root}: asc failed:\n${log}`);
  }
  return { core: reply.core, log: reply.log.trim() };
}

/**
 * Fails early, with a hint, when the core module imports anything but WASI:
 * asc links `env` imports for a few standard-library functions, and
 * wit-component's error for them is cryptic.
 */
function checkImports(core: Uint8Array<ArrayBuffer>, root: string): void {
  const foreign = WebAssembly.Module.imports(new WebAssembly.Module(core))
    .filter((i) => !i.module.startsWith('wasi:'))
    .map((i) => `${i.module}.${i.name}`);
  if (foreign.length === 0) return;
  throw new MicronError(
    'build_failed',
    `${root}: the module imports ${foreign.join(', ')}, which a component cannot have. ` +
      'Date.now(), Math.random(), console.* and trace() import from "env": use the SDK\'s now(), ' +
      'randomU64() and log() instead.',
  );
}

/** An error's message. */
function explain(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// `node --import ./host/loader/register.mjs sdk/build/assemblyscript.ts <dir>...` rebuilds projects
// (the examples in components/as-*) until `micron build` covers them.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  for (const dir of process.argv.slice(2)) {
    const { output, bytes } = await buildAssemblyScript(dir, { onProgress: (msg) => console.error(`  ${msg}`) });
    console.log(`${path.relative(process.cwd(), output)}: ${bytes} bytes`);
  }
}
