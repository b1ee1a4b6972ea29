/**
 * Builds a Rust handler into a `wasi:http@0.2.12` component: rustc compiles
 * the SDK (`sdk/rust`, crate `micron`) to an rlib, then the function's crate
 * to a `wasm32-unknown-unknown` cdylib against it (fat LTO across both and
 * `std`), then `componentEmbed` against `wit/` world `handler` and
 * `componentNew` (no preview1 adapter: `std` on that target imports no WASI,
 * and the SDK imports WASI 0.2 directly).
 *
 * Why rustc and not cargo: only npm and Debian are reachable here, so a
 * function can depend on nothing but the SDK, and two rustc calls are all
 * cargo would run. Calling rustc directly needs no `cargo` binary, no
 * lockfile and no path from the function's Cargo.toml to this checkout (the
 * SDK is always this checkout's `sdk/rust`, so SDK and builder match), and
 * the SDK rlib is cached per project under `target/micron/`. The Cargo.toml
 * is still read for the crate name, edition and library path, and kept
 * cargo-compatible so `cargo build --target wasm32-unknown-unknown --release`
 * works for authors with their own toolchain.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MicronError } from '../../host/errors.js';
import { withPreopen } from './preopen.js';

/** Options for {@link buildRust}. */
export interface RustBuildOptions {
  /** Where to write the component; default `<dir>/<basename of dir>.wasm`. */
  out?: string;
  /** Called with a one-line description of each step. */
  onProgress?: (msg: string) => void;
}

/** What {@link buildRust} wrote. */
export interface RustBuildResult {
  /** Absolute path of the component. */
  output: string;
  /** Its size in bytes. */
  bytes: number;
}

/** A rustc that can build for `wasm32-unknown-unknown`. */
export interface RustToolchain {
  /** The command (an absolute path or a name on PATH). */
  rustc: string;
  /** `rustc --version`, e.g. `rustc 1.63.0`. */
  version: string;
  /** `rustc --print sysroot`. */
  sysroot: string;
}

/** The Debian packages that provide a suitable toolchain. */
export const RUST_INSTALL_HINT = 'apt-get install -y rustc cargo libstd-rust-dev-wasm32 lld';

const TARGET = 'wasm32-unknown-unknown';
const SDK_DIR = fileURLToPath(new URL('../rust/', import.meta.url));
const WIT_DIR = fileURLToPath(new URL('../../wit', import.meta.url));
const WORLD = 'handler';
/** The only dependency a function crate may have. */
const SDK_CRATE = 'micron';

/**
 * Code generation flags for both crates. `opt-level=z` optimizes for size;
 * `panic=abort` because a panic can only trap in a component (no unwinding
 * across the canonical ABI); one codegen unit for the best size.
 */
const CODEGEN_FLAGS = ['-C', 'opt-level=z', '-C', 'panic=abort', '-C', 'codegen-units=1'];

/**
 * Flags for the final cdylib. `lto` lets LLVM drop every part of `std` and
 * the SDK the function does not use. `strip=symbols` is the flag that
 * matters most (0.4–5.8 MB without it). A 64 KiB stack instead of rustc's
 * 1 MiB default brings the initial memory from 17 pages to 2.
 */
const LINK_FLAGS = ['-C', 'lto', '-C', 'strip=symbols', '-C', 'link-arg=-zstack-size=65536'];

/**
 * Builds the Rust project in `dir` into a component.
 *
 * The project is a library crate (`src/lib.rs`, or Cargo.toml's `[lib] path`)
 * that calls `micron::export_handler!`. It may depend on `micron` only.
 *
 * @throws MicronError `toolchain_missing` when no rustc with the
 *   `wasm32-unknown-unknown` standard library (or no linker) is installed,
 *   `build_failed` with the compiler's output otherwise.
 *
 * @example
 * ```ts
 * const { output, bytes } = await buildRust('components/rust-hello');
 * ```
 */
export async function buildRust(dir: string, opts: RustBuildOptions = {}): Promise<RustBuildResult> {
  const progress = opts.onProgress ?? (() => {});
  const root = path.resolve(dir);
  const output = path.resolve(opts.out ?? path.join(root, `${path.basename(root)}.wasm`));
  const manifest = await readManifest(root);
  const source = path.join(root, manifest.libPath);
  if (!existsSync(source)) {
    throw new MicronError(
      'build_failed',
      `${root}: no ${manifest.libPath} (a Micron function is a library crate that calls micron::export_handler!)`,
    );
  }

  const toolchain = await findRustToolchain();
  progress(`${toolchain.version} (${toolchain.rustc})`);
  const work = path.join(root, 'target', 'micron');
  await mkdir(work, { recursive: true });
  const sdkRlib = await buildSdk(toolchain, work, progress);

  const core = path.join(work, `${manifest.crateName}.core.wasm`);
  const args = [
    '--edition', manifest.edition,
    '--crate-type', 'cdylib',
    '--crate-name', manifest.crateName,
    '--target', TARGET,
    ...CODEGEN_FLAGS,
    ...LINK_FLAGS,
    '--extern', `${SDK_CRATE}=${sdkRlib}`,
    // Panic locations name source files: keep checkout paths out of the component.
    '--remap-path-prefix', `${root}=.`,
    '-o', core,
    source,
  ];
  progress(`rustc ${args.join(' ')}`);
  const warnings = await rustc(toolchain, args, root, manifest.crateName);
  if (warnings) progress(warnings);

  progress(`embedding WIT world ${WORLD}`);
  const { componentEmbed, componentNew } = await import('@bytecodealliance/jco');
  let component: Uint8Array;
  try {
    const binary = await readFile(core);
    const embedded = await withPreopen(WIT_DIR, () => componentEmbed({ binary, witPath: WIT_DIR, world: WORLD }));
    progress('creating component (no adapter)');
    component = await componentNew(embedded, []);
  } catch (err) {
    throw new MicronError('build_failed', `${root}: creating the component failed: ${message(err)}`, { cause: err });
  }

  await mkdir(path.dirname(output), { recursive: true });
  await writeFile(output, component);
  progress(`wrote ${output} (${component.byteLength} bytes)`);
  return { output, bytes: component.byteLength };
}

let toolchainSearch: Promise<RustToolchain> | undefined;

/**
 * Finds a rustc with the `wasm32-unknown-unknown` standard library:
 * `$MICRON_RUSTC` when set (and then only it), else `/usr/bin/rustc`
 * (Debian's; on machines with rustup, its proxy comes first on PATH and may
 * lack the target), then `rustc` on PATH. The result is cached for the
 * process.
 *
 * @throws MicronError `toolchain_missing`, naming what was tried and how to install.
 */
export function findRustToolchain(): Promise<RustToolchain> {
  toolchainSearch ??= searchToolchain();
  // A failed search is retried next time (the user may install meanwhile).
  toolchainSearch.catch(() => {
    toolchainSearch = undefined;
  });
  return toolchainSearch;
}

async function searchToolchain(): Promise<RustToolchain> {
  // An explicit choice is the only candidate: silently building with another rustc would hide the mistake.
  const chosen = process.env['MICRON_RUSTC'];
  const candidates = chosen ? [chosen] : ['/usr/bin/rustc', 'rustc'];
  const tried: string[] = [];
  for (const rustc of candidates) {
    let version: string;
    let sysroot: string;
    try {
      version = (await run(rustc, ['--version'], process.cwd())).stdout.trim();
      sysroot = (await run(rustc, ['--print', 'sysroot'], process.cwd())).stdout.trim();
    } catch {
      tried.push(`${rustc}: not found or not runnable`);
      continue;
    }
    const lib = path.join(sysroot, 'lib', 'rustlib', TARGET, 'lib');
    if (existsSync(lib) && readdirSync(lib).some((file) => /^libstd-.*\.rlib$/.test(file))) {
      return { rustc, version, sysroot };
    }
    tried.push(`${rustc} (${version}): no ${TARGET} standard library`);
  }
  throw new MicronError(
    'toolchain_missing',
    `no Rust compiler for ${TARGET} (${tried.join('; ')}); install with: ${RUST_INSTALL_HINT}` +
      ` (with rustup: rustup target add ${TARGET}; or set MICRON_RUSTC)`,
  );
}

/**
 * Compiles `sdk/rust` to `libmicron.rlib` unless an rlib built from the
 * same sources by the same rustc is cached in `work`. The rlib keeps LLVM
 * bitcode, so the function's LTO step optimizes across both crates.
 */
async function buildSdk(toolchain: RustToolchain, work: string, progress: (msg: string) => void): Promise<string> {
  const hash = createHash('sha256').update(`${toolchain.rustc}\n${toolchain.version}\n${CODEGEN_FLAGS.join(' ')}\n`);
  for (const file of await listFiles(path.join(SDK_DIR, 'src'))) {
    hash.update(`${path.relative(SDK_DIR, file)}\n`).update(await readFile(file));
  }
  const dir = path.join(work, `sdk-${hash.digest('hex').slice(0, 16)}`);
  const rlib = path.join(dir, `lib${SDK_CRATE}.rlib`);
  if (existsSync(rlib)) {
    progress(`micron SDK: cached ${rlib}`);
    return rlib;
  }
  // Built in a fresh folder and renamed, so concurrent builds never see half an rlib.
  const temp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(temp, { recursive: true });
  const args = [
    '--edition', '2021',
    '--crate-type', 'rlib',
    '--crate-name', SDK_CRATE,
    '--target', TARGET,
    ...CODEGEN_FLAGS,
    '--remap-path-prefix', `${path.resolve(SDK_DIR)}=${SDK_CRATE}`,
    '-o', path.join(temp, `lib${SDK_CRATE}.rlib`),
    path.join(SDK_DIR, 'src', 'lib.rs'),
  ];
  progress(`micron SDK: rustc ${args.join(' ')}`);
  try {
    await rustc(toolchain, args, SDK_DIR, 'the micron SDK');
    await rename(temp, dir).catch(async (err: NodeJS.ErrnoException) => {
      // Another build finished first: use its rlib.
      if (!existsSync(rlib)) throw err;
    });
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return rlib;
}

/** Runs rustc; returns its warnings, or throws with its diagnostics. */
async function rustc(toolchain: RustToolchain, args: string[], cwd: string, what: string): Promise<string> {
  try {
    return (await run(toolchain.rustc, args, cwd)).stderr.trim();
  } catch (err) {
    const stderr = ((err as { stderr?: string }).stderr ?? '').trim();
    if (/linker `?rust-lld`? not found|rust-lld.*No such file/.test(stderr)) {
      throw new MicronError(
        'toolchain_missing',
        `${toolchain.rustc} cannot link ${TARGET} (rust-lld missing); install with: ${RUST_INSTALL_HINT}`,
        { cause: err },
      );
    }
    throw new MicronError('build_failed', `rustc failed for ${what}:\n${stderr || message(err)}`, { cause: err });
  }
}

function run(command: string, args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, maxBuffer: 32 * 1024 * 1024, timeout: 10 * 60_000 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(
    entries.map((entry) => {
      const full = path.join(dir, entry.name);
      return entry.isDirectory() ? listFiles(full) : Promise.resolve([full]);
    }),
  );
  return files.flat().sort();
}

/** What the build needs from Cargo.toml. */
interface Manifest {
  /** `[lib] name`, else `[package] name`, with `-` as `_`; else the folder's name. */
  crateName: string;
  /** `[package] edition`; cargo's default is 2015. */
  edition: string;
  /** `[lib] path`, relative to the project; default `src/lib.rs`. */
  libPath: string;
}

/**
 * Reads the few Cargo.toml keys the build uses (a line-based reading of
 * `key = "string"` pairs and table headers, which is all a function's
 * manifest needs), and refuses dependencies other than `micron`.
 */
async function readManifest(root: string): Promise<Manifest> {
  const file = path.join(root, 'Cargo.toml');
  const tables = new Map<string, Map<string, string>>();
  const dependencies: string[] = [];
  if (existsSync(file)) {
    let table = '';
    for (const raw of (await readFile(file, 'utf8')).split(/\r?\n/)) {
      const line = raw.trim();
      const header = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
      if (header?.[1] !== undefined) {
        table = header[1].replace(/\s+/g, '');
        // `[dependencies.foo]`, also under `[target.'cfg(…)'.…]`; not dev- or build-dependencies.
        const dotted = /^(?:.*\.)?dependencies\.(.+)$/.exec(table);
        if (dotted?.[1]) dependencies.push(dotted[1].replace(/^["']|["']$/g, ''));
        continue;
      }
      const pair = /^([A-Za-z0-9_.-]+|"[^"]+")\s*=\s*(.*)$/.exec(line);
      if (!pair?.[1] || pair[2] === undefined) continue;
      const key = pair[1].replace(/^"|"$/g, '');
      if (/(^|\.)dependencies$/.test(table)) dependencies.push(key);
      const value = /^"((?:[^"\\]|\\.)*)"/.exec(pair[2])?.[1];
      if (value !== undefined) {
        if (!tables.has(table)) tables.set(table, new Map());
        tables.get(table)?.set(key, value);
      }
    }
  }
  const extra = [...new Set(dependencies)].filter((name) => name !== SDK_CRATE);
  if (extra.length > 0) {
    throw new MicronError(
      'build_failed',
      `${file}: depends on ${extra.join(', ')}; \`micron build\` compiles offline with rustc and links only the ` +
        `micron SDK, so a function may not have other dependencies`,
    );
  }
  const valid = (name: string | undefined) =>
    name !== undefined && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(name) ? name : undefined;
  const name =
    valid(tables.get('lib')?.get('name')) ?? valid(tables.get('package')?.get('name')) ?? path.basename(root);
  const crateName = name.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(?=[0-9])/, '_');
  return {
    crateName,
    edition: tables.get('package')?.get('edition') ?? (existsSync(file) ? '2015' : '2021'),
    libPath: tables.get('lib')?.get('path') ?? path.join('src', 'lib.rs'),
  };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
