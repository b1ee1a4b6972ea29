/**
 * Builds a Go function into a `wasi:cli/run` component: `go build` for
 * GOOS=wasip1 GOARCH=wasm (a preview 1 *command*: Go before 1.24 cannot
 * export `wasi:http/incoming-handler`, see sdk/go/README.md), then
 * `componentEmbed` of world `micron:guest/command` (wit/micron.wit: the
 * SDK's outbound HTTP imports `micron:http/outbound`, which componentNew
 * only accepts when the module declares it), then `componentNew` with jco's
 * preview1 command adapter. The host recognises such a component, takes its
 * main core module and runs it with its own preview1 and outbound HTTP
 * (host/runtime/command-runner.ts), skipping the adapter.
 *
 * Offline by construction: only npm and Debian are reachable, so a function
 * may import the standard library and the SDK, nothing else. The SDK is
 * always this checkout's `sdk/go` (module `micron.dev/sdk/go`): the build
 * runs with a temporary copy of the function's go.mod (`-modfile`) whose
 * `replace` points there, so the function's own go.mod may carry any replace
 * path (the examples use `../../sdk/go`, which makes plain `go build` and
 * gopls work inside this repository) and the SDK always matches the host.
 * `GOPROXY=off`, `GOTOOLCHAIN=local` and `GOWORK=off` keep the go command
 * from reaching for the network or another toolchain.
 *
 * The build sets the `micron_snapshot` tag (and, from Go 1.23,
 * `-checklinkname=0`), which turn on the SDK's snapshot support: the host
 * then starts each request from a memory snapshot taken after init instead
 * of running `_start` (well under 1 ms instead of 8-11 ms per request).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, copyFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { componentEmbed, componentNew } from '@bytecodealliance/jco';
import { MicronError } from '../../host/errors.js';
import { withPreopen } from './preopen.js';

/** Options for {@link buildGo}. */
export interface GoBuildOptions {
  /** Where to write the component; default `<dir>/<basename of dir>.wasm`. */
  out?: string;
  /** Also write the core module (what the host runs) here. */
  coreOut?: string;
  /** Called with a one-line description of each step. */
  onProgress?: (msg: string) => void;
}

/** What {@link buildGo} wrote. */
export interface GoBuildResult {
  /** Absolute path of the component. */
  output: string;
  /** Its size in bytes. */
  bytes: number;
}

/** A go command that can build for wasip1. */
export interface GoToolchain {
  /** Absolute path of the `go` binary (or a name on PATH). */
  go: string;
  /** `go env GOVERSION`, e.g. `go1.23.5`. */
  version: string;
  /** The minor version (23 for go1.23.5). */
  minor: number;
}

/** The SDK's module path. */
export const GO_SDK_MODULE = 'micron.dev/sdk/go';

/** Shell commands (Debian bookworm) that install a suitable Go. */
export const GO_INSTALL_HINT = [
  "printf 'Types: deb\\nURIs: http://deb.debian.org/debian\\nSuites: bookworm-backports\\nComponents: main\\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\\n' > /etc/apt/sources.list.d/backports.sources",
  'apt-get update',
  'apt-get install -y -t bookworm-backports golang-1.23-go',
].join('\n');

const SDK_DIR = fileURLToPath(new URL('../go/', import.meta.url)).replace(/\/$/, '');
/** The WIT folder and the world a Go function's core module is embedded against. */
const WIT_DIR = fileURLToPath(new URL('../../wit/', import.meta.url)).replace(/\/$/, '');
const WORLD = 'command';
const ADAPTER = fileURLToPath(
  new URL('../../node_modules/@bytecodealliance/jco/lib/wasi_snapshot_preview1.command.wasm', import.meta.url),
);
/** Where Debian's golang-1.23-go puts the go command. */
const DEBIAN_GO = '/usr/lib/go-1.23/bin/go';
const MIN_MINOR = 21; // wasip1 exists from Go 1.21

/**
 * Builds the Go project in `dir` into a `wasi:cli/run` component.
 *
 * @throws MicronError `toolchain_missing` (with the apt commands) when no Go
 *   ≥ 1.21 is found, `build_failed` with the compiler's output otherwise.
 * @example
 * ```ts
 * const { output, bytes } = await buildGo('components/go-hello');
 * ```
 */
export async function buildGo(dir: string, opts: GoBuildOptions = {}): Promise<GoBuildResult> {
  const root = path.resolve(dir);
  const progress = opts.onProgress ?? (() => {});
  const output = path.resolve(opts.out ?? path.join(root, `${path.basename(root)}.wasm`));
  if (!existsSync(path.join(root, 'go.mod'))) throw new MicronError('build_failed', `${root}: no go.mod`);

  const toolchain = await findGo();
  progress(`using ${toolchain.go} (${toolchain.version})`);
  const temp = await mkdtemp(path.join(os.tmpdir(), 'micron-go-'));
  try {
    // A temporary go.mod that resolves the SDK to this checkout.
    const modfile = path.join(temp, 'go.mod');
    await copyFile(path.join(root, 'go.mod'), modfile);
    if (existsSync(path.join(root, 'go.sum'))) await copyFile(path.join(root, 'go.sum'), path.join(temp, 'go.sum'));
    const env = goEnv(temp);
    await run(toolchain.go, ['mod', 'edit', `-modfile=${modfile}`, `-require=${GO_SDK_MODULE}@v0.0.0`, `-replace=${GO_SDK_MODULE}=${SDK_DIR}`], root, env);

    const core = path.join(temp, 'core.wasm');
    progress(`go build (GOOS=wasip1 GOARCH=wasm) ${root}`);
    // Go 1.23 added the linkname check the SDK's snapshot code needs switched off; older linkers lack the flag.
    // An empty build id: the default one hashes the temporary -modfile's path, so no two builds would match.
    const ldflags = `-s -w -buildid=${toolchain.minor >= 23 ? ' -checklinkname=0' : ''}`;
    await run(
      toolchain.go,
      ['build', `-modfile=${modfile}`, '-mod=mod', '-tags=micron_snapshot', '-trimpath', `-ldflags=${ldflags}`, '-o', core, '.'],
      root,
      env,
    );
    const coreBytes = await readFile(core);
    progress(`core module: ${coreBytes.byteLength} bytes; wrapping as wasi:cli/run with the preview1 command adapter`);
    const component = await wrapCommand(coreBytes);
    await mkdir(path.dirname(output), { recursive: true });
    await writeFile(output, component);
    if (opts.coreOut) await writeFile(path.resolve(opts.coreOut), coreBytes);
    progress(`wrote ${output} (${component.byteLength} bytes)`);
    return { output, bytes: component.byteLength };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/**
 * Turns a Go wasip1 core module into a `wasi:cli/run` component: embeds
 * world `micron:guest/command` (so the module may import
 * `micron:http/outbound`), then wraps it with the preview1 command adapter.
 *
 * @throws MicronError `build_failed` with wasm-tools' message
 */
export async function wrapCommand(core: Uint8Array): Promise<Uint8Array> {
  const fail = (step: string) => (error: unknown) => {
    throw new MicronError('build_failed', `${step} failed: ${error instanceof Error ? error.message : String(error)}`);
  };
  const embedded = await withPreopen(WIT_DIR, () => componentEmbed({ binary: core, witPath: WIT_DIR, world: WORLD })).catch(fail('componentEmbed'));
  return componentNew(embedded, [['wasi_snapshot_preview1', await readFile(ADAPTER)]]).catch(fail('componentNew'));
}

/**
 * Finds the go command: `$MICRON_GO` when set (and then only it), else
 * Debian's Go 1.23, else a `go` ≥ 1.21 on PATH.
 *
 * @throws MicronError `toolchain_missing` with the install commands
 */
export async function findGo(): Promise<GoToolchain> {
  // An explicit choice is the only candidate: silently building with another Go would hide the mistake.
  const chosen = process.env['MICRON_GO'];
  const candidates = chosen ? [chosen] : [DEBIAN_GO, 'go'];
  for (const go of candidates) {
    if (go.startsWith('/') && !existsSync(go)) continue;
    try {
      const version = (await run(go, ['env', 'GOVERSION'], process.cwd(), goEnv(os.tmpdir()))).stdout.trim();
      const minor = /^go1\.(\d+)/.exec(version)?.[1];
      if (minor !== undefined && Number(minor) >= MIN_MINOR) return { go, version, minor: Number(minor) };
    } catch {
      // not installed or not runnable: try the next one
    }
  }
  throw new MicronError(
    'toolchain_missing',
    `Go ${'>='} 1.${MIN_MINOR} for GOOS=wasip1 was not found (looked for ${chosen ? `${chosen} (MICRON_GO)` : `${DEBIAN_GO} and go on PATH`}). ` +
      `On Debian bookworm, as root:\n${GO_INSTALL_HINT}`,
  );
}

function goEnv(temp: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GOOS: 'wasip1',
    GOARCH: 'wasm',
    CGO_ENABLED: '0',
    GOTOOLCHAIN: 'local',
    GOPROXY: 'off',
    GOSUMDB: 'off',
    GOWORK: 'off',
    GOFLAGS: '',
  };
  // The go command needs a cache; HOME may be unset under CI or a service manager.
  if (!env['GOCACHE'] && !env['HOME'] && !env['XDG_CACHE_HOME']) env['GOCACHE'] = path.join(os.tmpdir(), 'micron-go-cache');
  if (!env['GOPATH'] && !env['HOME']) env['GOPATH'] = path.join(temp, 'gopath');
  return env;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve({ stdout, stderr });
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return reject(error);
      reject(new MicronError('build_failed', `${path.basename(cmd)} ${args[0]} failed in ${cwd}:\n${stderr || stdout || error.message}`.trimEnd()));
    });
  });
}
