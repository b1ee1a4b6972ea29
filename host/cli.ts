/**
 * The `micron` command line: run a host, and manage functions on a running one
 * through its admin API. User mistakes print one readable line and exit 1;
 * stack traces are only printed for unexpected failures with MICRON_DEBUG=1.
 */
import { existsSync, promises as fs, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { HostLimits } from './config.js';
import { MicronError } from './errors.js';
import { createHost } from './host.js';
import { atomicWrite } from './registry/store.js';
import { API_HEADER } from './server/admin.js';
import type { InvocationRecord } from './observe/invocation-record.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The options of every command that talks to a running host, as help text. */
const CLIENT_HELP = `  --url URL      admin API address (default http://127.0.0.1:8081, or MICRON_ADMIN_URL)
  --token TOKEN  admin token (default MICRON_ADMIN_TOKEN, else <data-dir>/admin-token)
`;

const HELP = `micron — a WebAssembly component host

Usage:
  micron serve [--port 8080] [--admin-port 8081] [--host 0.0.0.0] [--data-dir DIR] [--limits JSON] [--no-examples]
  micron deploy <file.wasm> [--name <name>] [--config JSON] [--url URL] [--token TOKEN]
  micron list [--json] [--url URL] [--token TOKEN]
  micron rm <name> [--url URL] [--token TOKEN]
  micron versions <name> [--json]
  micron promote <name> <version>
  micron rollback <name> [version]
  micron logs <name> [--follow] [--since CURSOR|TIME] [--limit N] [--json]
  micron build [dir] [--out FILE]
  micron new <assemblyscript|rust|go> <dir>

\`micron <command> --help\` describes one command.

Options for deploy, list, rm, versions, promote, rollback and logs:
${CLIENT_HELP}
Environment:
  MICRON_DATA_DIR     data directory (default ./.micron)
  MICRON_ADMIN_TOKEN  admin token (else generated at first start and saved in the data dir)
  MICRON_LIMITS       host limits as JSON, as serve's --limits
  MICRON_LOG_LEVEL    debug | info | warn | error (default info)
  MICRON_RUSTC        the rustc \`micron build\` uses for Rust (default: Debian's /usr/bin/rustc, then PATH)
  MICRON_GO           the go \`micron build\` uses for Go (default: /usr/lib/go-1.23/bin/go, then PATH)
`;

/** `micron <command> --help`. */
const COMMAND_HELP: Record<string, string> = {
  serve: `Usage: micron serve [options]

Runs the host: function traffic on the public listener (/<name>/… and
<name>.<domain>), the admin API and dashboard on the admin listener. The
examples in components/ are deployed at first start unless --no-examples.

Options:
  --port N          public port (default 8080; 0 picks a free one)
  --host ADDR       public address (default 0.0.0.0)
  --admin-port N    admin port (default 8081)
  --admin-host ADDR admin address (default 127.0.0.1)
  --data-dir DIR    data directory (default MICRON_DATA_DIR, else ./.micron)
  --domain NAME     host-routing domain: <name>.NAME serves function <name> (default localhost)
  --limits JSON     host limits over their defaults (default MICRON_LIMITS), e.g.
                    '{"uploadBytes": 67108864, "deadlineMs": 10000}'; the names are in README.md
  --no-examples     do not deploy the examples
`,
  deploy: `Usage: micron deploy <file.wasm> [--name <name>] [--config JSON]

Uploads a component and makes it the function's latest version.

Options:
  --name, -n NAME  function name (default: the file's name without .wasm)
  --config JSON    the version's configuration (env, allowedHosts, limits, routes, invokeAuth);
                   without it the serving version's configuration is kept
${CLIENT_HELP}`,
  list: `Usage: micron list [--json]

Lists the functions with their latest version.

Options:
  --json         the list as JSON
${CLIENT_HELP}`,
  rm: `Usage: micron rm <name>

Removes a function and all its versions.

Options:
${CLIENT_HELP}`,
  versions: `Usage: micron versions <name> [--json]

Lists a function's versions and the aliases that point at them.

Options:
  --json         the list as JSON
${CLIENT_HELP}`,
  promote: `Usage: micron promote <name> <version>

Makes <version> the function's latest.

Options:
${CLIENT_HELP}`,
  rollback: `Usage: micron rollback <name> [version]

Makes the previous version (or <version>) the function's latest again.

Options:
${CLIENT_HELP}`,
  logs: `Usage: micron logs <name> [--follow] [--since CURSOR|TIME] [--limit N] [--json]

Prints the function's recent invocation records with their guest output.

Options:
  --follow, -f   keep printing new records as they come
  --since X      records after a cursor or an ISO time
  --limit N      at most N records
  --json         one JSON record per line
${CLIENT_HELP}`,
  build: `Usage: micron build [dir] [--out FILE]

Builds the function in dir (default .) into a component: AssemblyScript,
Rust or Go, found from the project's files.

Options:
  --out, -o FILE  where to write the .wasm
`,
  new: `Usage: micron new <assemblyscript|rust|go> <dir>

Creates a function project from the language's template.
`,
};

/** A user mistake: printed without a stack trace. */
export class UsageError extends Error {}

/**
 * `--opt value` as `--opt=value` for every option that takes a value: node's
 * parseArgs refuses a separate value that begins with `-` as ambiguous, and a
 * token or a config value may well begin with one. A following argument that
 * is itself one of the command's options is not taken as the value (the
 * value is missing: a usage error).
 */
export function joinOptionValues(argv: readonly string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const optionName = (arg: string): string | undefined => {
    if (/^--[^=]+$/.test(arg)) return arg.slice(2) in options ? arg.slice(2) : undefined;
    if (/^-[a-zA-Z]$/.test(arg)) return Object.keys(options).find((k) => options[k]!.short === arg[1]);
    return undefined;
  };
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return out.concat(argv.slice(i));
    const name = optionName(arg);
    const next = argv[i + 1];
    if (name === undefined || options[name]!.type !== 'string') {
      out.push(arg);
      continue;
    }
    if (next === undefined || next === '--' || optionName(next.replace(/^(--[^=]+)=.*$/s, '$1')) !== undefined) throw new UsageError(`option --${name} needs a value (--${name} VALUE, or --${name}=VALUE)`);
    out.push(`--${name}=${next}`);
    i++;
  }
  return out;
}

/**
 * Parses `argv` of `command`: its options (plus --help) and at most
 * `maxPositionals` arguments. Mistakes are usage errors that point at the
 * command's help.
 */
function parse(
  command: string,
  argv: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  maxPositionals: number,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const seeHelp = `see micron ${command} --help`;
  let parsed;
  try {
    parsed = parseArgs({ args: joinOptionValues(argv, options), options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    const err = e as Error & { code?: string };
    const option = /'(-[^']*)'/.exec(err.message)?.[1];
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) throw new UsageError(`unknown option ${option} for micron ${command}; ${seeHelp}`);
    if (err instanceof UsageError) throw new UsageError(`${err.message}; ${seeHelp}`);
    throw new UsageError(`${err.message.split('\n')[0]!.replace(/\.$/, '')}; ${seeHelp}`);
  }
  const { values, positionals } = parsed;
  if (!values.help && positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[maxPositionals])} for micron ${command}; ${seeHelp}`);
  }
  return { values: values as Record<string, string | boolean | undefined>, positionals };
}

/** Prints the command's help when asked for: true if it did. */
function helped(command: string, values: Record<string, string | boolean | undefined>): boolean {
  if (values.help) process.stdout.write(COMMAND_HELP[command] ?? HELP);
  return values.help === true;
}

/** The options of every command that talks to a running host. */
const CLIENT_OPTIONS = { url: { type: 'string' }, token: { type: 'string' } } as const;

/** Host limits from JSON text (`--limits` or MICRON_LIMITS); checked by createHost. */
function limitsOf(json: string | undefined, from: string): Partial<HostLimits> | undefined {
  if (json === undefined || json === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new UsageError(`${from} must be a JSON object of limits, e.g. '{"uploadBytes": 67108864}'`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError(`${from} must be a JSON object of limits, e.g. '{"uploadBytes": 67108864}'`);
  return v as Partial<HostLimits>;
}

function portOf(v: string | boolean | undefined, def: number, flag: string): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${flag} must be a port number (0–65535), got ${JSON.stringify(v)}`);
  return n;
}

async function serve(argv: string[]): Promise<void> {
  const { values } = parse(
    'serve',
    argv,
    {
      port: { type: 'string' },
      'admin-port': { type: 'string' },
      host: { type: 'string' },
      'admin-host': { type: 'string' },
      'data-dir': { type: 'string' },
      domain: { type: 'string' },
      limits: { type: 'string' },
      'no-examples': { type: 'boolean' },
    },
    0,
  );
  if (helped('serve', values)) return;
  const port = portOf(values.port, 8080, '--port');
  const adminPort = portOf(values['admin-port'], 8081, '--admin-port');
  const limits = limitsOf(typeof values.limits === 'string' ? values.limits : process.env.MICRON_LIMITS, typeof values.limits === 'string' ? '--limits' : 'MICRON_LIMITS');
  const host = await createHost({
    ...(typeof values['data-dir'] === 'string' ? { dataDir: values['data-dir'] } : {}),
    ...(typeof values.domain === 'string' ? { domain: values.domain } : {}),
    ...(limits ? { limits } : {}),
  });
  // Shown before anything can fail: the token is saved now and later starts do not print it again.
  if (host.adminTokenGenerated) {
    process.stderr.write(`micron: generated an admin token (saved in the data dir, shown once): ${host.adminToken}\n`);
  }
  if (!values['no-examples']) await deployExamples(host);
  let addrs;
  try {
    addrs = await host.listen({
      port,
      host: typeof values.host === 'string' ? values.host : '0.0.0.0',
      adminPort,
      adminHost: typeof values['admin-host'] === 'string' ? values['admin-host'] : '127.0.0.1',
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new UsageError(`port ${err.message.match(/:(\d+)$/)?.[1] ?? ''} is already in use; pick another with --port / --admin-port`);
    throw e;
  }
  // Machine-readable line first (tests read it), then a human one.
  process.stdout.write(`${JSON.stringify({ msg: 'listening', public: addrs.public.port, admin: addrs.admin.port })}\n`);
  process.stderr.write(`micron: serving functions on http://${addrs.public.address}:${addrs.public.port}/<name>/, admin API on http://${addrs.admin.address}:${addrs.admin.port}\n`);
  // A stop lets responses in flight (a stream, a slow guest) finish first; a second signal stops at once.
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stderr.write(`micron: stopping: finishing the requests in flight (at most ${SHUTDOWN_GRACE_MS / 1000} s; signal again to stop now)\n`);
    void host.close({ graceMs: SHUTDOWN_GRACE_MS }).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** How long `micron serve` lets responses in flight finish when it is stopped, ms. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Deploys the examples in components/ that have a built .wasm and were never
 * deployed to this data dir: the ones deployed are remembered in
 * `examples-deployed` there, so an example the operator removed stays
 * removed, and a new example (a later release) is deployed once.
 */
async function deployExamples(host: Awaited<ReturnType<typeof createHost>>): Promise<void> {
  const dir = join(ROOT, 'components');
  if (!existsSync(dir)) return;
  const examples = readdirSync(dir)
    .sort()
    .filter((name) => existsSync(join(dir, name, `${name}.wasm`)));
  const existing = new Set((await host.list()).map((f) => f.name));
  const seenPath = join(host.dataDir, 'examples-deployed');
  let seen: Set<string>;
  let saved = true;
  try {
    seen = new Set(JSON.parse(await fs.readFile(seenPath, 'utf8')) as string[]);
  } catch {
    // None yet (a first start, or a data dir from before the file existed): what is stored counts as deployed.
    seen = new Set(examples.filter((n) => existing.has(n)));
    saved = false;
  }
  const todo = examples.filter((name) => !existing.has(name) && !seen.has(name));
  if (todo.length === 0) {
    if (!saved) await atomicWrite(seenPath, `${JSON.stringify([...seen].sort())}\n`);
    return;
  }
  // Only a first start (or a new example) gets here: later starts find them stored. Say what the wait is for.
  process.stderr.write(`micron: deploying ${todo.length} example${todo.length === 1 ? '' : 's'} from components/ before listening (transpiled once; later starts reuse them) …\n`);
  for (const name of todo) {
    const t0 = performance.now();
    try {
      const d = await host.deploy(name, new Uint8Array(await fs.readFile(join(dir, name, `${name}.wasm`))));
      seen.add(name);
      process.stderr.write(`micron: example ${name} deployed (${d.version}, ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    } catch (e) {
      process.stderr.write(`micron: example ${name} was not deployed: ${(e as Error).message}\n`);
    }
  }
  await atomicWrite(seenPath, `${JSON.stringify([...seen].sort())}\n`);
}

interface Client {
  url: string;
  token: string;
}

async function client(values: Record<string, string | boolean | undefined>): Promise<Client> {
  const url = (typeof values.url === 'string' ? values.url : process.env.MICRON_ADMIN_URL) ?? 'http://127.0.0.1:8081';
  let token = typeof values.token === 'string' ? values.token : process.env.MICRON_ADMIN_TOKEN;
  if (!token) {
    const dataDir = resolve(process.env.MICRON_DATA_DIR ?? '.micron');
    try {
      token = (await fs.readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    } catch {
      throw new UsageError('no admin token: pass --token, set MICRON_ADMIN_TOKEN, or run in the directory whose .micron/admin-token the host created');
    }
  }
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new UsageError(`${typeof values.url === 'string' ? '--url' : 'MICRON_ADMIN_URL'} must be an http:// or https:// address, got ${JSON.stringify(url)}`);
  }
  return { url: url.replace(/\/$/, ''), token };
}

/**
 * One admin API call. Resolves with the JSON answer, which must have every
 * field in `fields` (else the server is not Micron's admin API: a usage
 * error that says so, rather than a confusing failure later). An error
 * answer becomes a one-line error with its code and message.
 */
async function call(c: Client, method: string, path: string, fields: readonly string[], init?: { body?: Uint8Array; headers?: Record<string, string> }): Promise<Record<string, unknown>> {
  let res: Response | undefined;
  // A read (GET) is retried twice on a connection-level failure: a host under load or just
  // started may reset a connection. Writes are never retried (they could apply twice).
  const attempts = method === 'GET' ? 3 : 1;
  for (let attempt = 1; !res; attempt++) {
    try {
      res = await fetch(`${c.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${c.token}`, ...init?.headers },
        ...(init?.body ? { body: init.body as Uint8Array<ArrayBuffer> } : {}),
      });
    } catch (e) {
      if (attempt < attempts) {
        await new Promise((r) => setTimeout(r, 250 * attempt));
        continue;
      }
      throw new MicronError('connection_failed', `cannot reach the host at ${c.url}: ${((e as Error).cause as Error | undefined)?.message ?? (e as Error).message}`);
    }
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.headers.has(API_HEADER)) throw notAdminApi(c, res);
  if (!res.ok) throw answerError(c, res, body);
  if (typeof body !== 'object' || body === null || Array.isArray(body) || fields.some((f) => !(f in body))) throw notAdminApi(c, res);
  return body as Record<string, unknown>;
}

/** The error of a failed answer: the API's `{error: {code, message}}` in one line, or that this is not the admin API. */
function answerError(c: Client, res: Response, body: unknown): UsageError {
  const err = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (typeof err?.code !== 'string' || typeof err.message !== 'string') return notAdminApi(c, res);
  return new UsageError(`${err.code}: ${err.message}`);
}

function notAdminApi(c: Client, res: Response): UsageError {
  const type = res.headers.get('content-type')?.split(';')[0] ?? 'no content type';
  return new UsageError(`${c.url} did not answer as Micron's admin API (HTTP ${res.status}, ${type}); check --url`);
}

async function deploy(argv: string[]): Promise<void> {
  const { values, positionals } = parse('deploy', argv, { name: { type: 'string', short: 'n' }, config: { type: 'string' }, ...CLIENT_OPTIONS }, 1);
  if (helped('deploy', values)) return;
  const file = positionals[0];
  if (!file) throw new UsageError('usage: micron deploy <file.wasm> [--name <name>]; see micron deploy --help');
  const name = typeof values.name === 'string' ? values.name : basename(file).replace(/\.wasm$/, '');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(file));
  } catch {
    throw new UsageError(`cannot read ${file}`);
  }
  const c = await client(values);
  const headers: Record<string, string> = { 'content-type': 'application/wasm' };
  if (typeof values.config === 'string') headers['x-micron-config'] = values.config;
  const r = (await call(c, 'PUT', `/v1/functions/${encodeURIComponent(name)}`, ['name', 'version', 'digest', 'size'], { body: bytes, headers })) as unknown as {
    name: string;
    version: string;
    digest: string;
    size: number;
    transpileMs: number;
    compileMs: number;
    reused: boolean;
  };
  process.stdout.write(
    `deployed ${r.name} ${r.version} (${r.size} bytes, sha256 ${r.digest.slice(0, 12)}…, ${r.reused ? 'already compiled' : `transpile ${r.transpileMs} ms, compile ${r.compileMs} ms`})\n`,
  );
}

async function list(argv: string[]): Promise<void> {
  const { values } = parse('list', argv, { ...CLIENT_OPTIONS, json: { type: 'boolean' } }, 0);
  if (helped('list', values)) return;
  const r = (await call(await client(values), 'GET', '/v1/functions', ['functions'])) as unknown as { functions: { name: string; version: string; size: number; digest: string; updatedAt: string }[] };
  if (values.json) return void process.stdout.write(`${JSON.stringify(r.functions, null, 2)}\n`);
  if (r.functions.length === 0) return void process.stdout.write('no functions\n');
  const rows = r.functions.map((f) => [f.name, f.version, String(f.size), f.digest.slice(0, 12), f.updatedAt]);
  const head = ['NAME', 'VERSION', 'BYTES', 'DIGEST', 'UPDATED'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [head, ...rows]) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
}

async function rm(argv: string[]): Promise<void> {
  const { values, positionals } = parse('rm', argv, CLIENT_OPTIONS, 1);
  if (helped('rm', values)) return;
  const name = positionals[0];
  if (!name) throw new UsageError('usage: micron rm <name>');
  await call(await client(values), 'DELETE', `/v1/functions/${encodeURIComponent(name)}`, ['removed']);
  process.stdout.write(`removed ${name}\n`);
}

async function versions(argv: string[]): Promise<void> {
  const { values, positionals } = parse('versions', argv, { ...CLIENT_OPTIONS, json: { type: 'boolean' } }, 1);
  if (helped('versions', values)) return;
  const name = positionals[0];
  if (!name) throw new UsageError('usage: micron versions <name>');
  const r = (await call(await client(values), 'GET', `/v1/functions/${encodeURIComponent(name)}/versions`, ['versions'])) as unknown as {
    versions: { id: string; digest: string; size: number; createdAt: string; aliases: string[] }[];
  };
  if (values.json) return void process.stdout.write(`${JSON.stringify(r.versions, null, 2)}\n`);
  printTable(
    ['VERSION', 'ALIASES', 'BYTES', 'DIGEST', 'CREATED'],
    r.versions.map((v) => [v.id, v.aliases.join(','), String(v.size), v.digest.slice(0, 12), v.createdAt]),
  );
}

async function promote(argv: string[], action: 'promote' | 'rollback'): Promise<void> {
  const { values, positionals } = parse(action, argv, CLIENT_OPTIONS, 2);
  if (helped(action, values)) return;
  const [name, version] = positionals;
  if (!name || (action === 'promote' && !version)) throw new UsageError(action === 'promote' ? 'usage: micron promote <name> <version>' : 'usage: micron rollback <name> [version]');
  const body = new TextEncoder().encode(version ? JSON.stringify({ version }) : '');
  const r = (await call(await client(values), 'POST', `/v1/functions/${encodeURIComponent(name)}/${action}`, ['version', 'previous'], {
    body,
    headers: { 'content-type': 'application/json' },
  })) as { version: string; previous: string };
  process.stdout.write(`${name}: latest is ${r.version} (was ${r.previous})\n`);
}

/** One invocation record as the logs API returns it. */
type RecordLine = InvocationRecord;

function printRecord(r: RecordLine, json: boolean): void {
  if (json) return void process.stdout.write(`${JSON.stringify(r)}\n`);
  const head = `${new Date(r.startedAt).toISOString()} ${r.requestId} ${r.version} ${r.status} ${(r.totalUs / 1000).toFixed(2)}ms${r.cold ? ' cold' : ''}${r.detail ? ` ${r.detail}` : ''}`;
  process.stdout.write(`${[head, ...r.logs.map((l) => `  ${l.stream}| ${l.line}`)].join('\n')}\n`);
}

async function logs(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    'logs',
    argv,
    { ...CLIENT_OPTIONS, follow: { type: 'boolean', short: 'f' }, since: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
    1,
  );
  if (helped('logs', values)) return;
  const name = positionals[0];
  if (!name) throw new UsageError('usage: micron logs <name> [--follow]');
  const c = await client(values);
  const q = new URLSearchParams();
  if (typeof values.since === 'string') q.set('since', values.since);
  if (typeof values.limit === 'string') q.set('limit', values.limit);
  const path = `/v1/functions/${encodeURIComponent(name)}/logs`;
  const json = values.json === true;
  if (!values.follow) {
    const r = (await call(c, 'GET', `${path}?${q}`, ['records'])) as unknown as { records: RecordLine[] };
    for (const rec of r.records) printRecord(rec, json);
    return;
  }
  await follow(c, `${path}/stream?${q}`, (rec) => printRecord(rec, json));
}

/** Reads a server-sent event stream of records until the server ends it (or the process is stopped). */
async function follow(c: Client, path: string, onRecord: (r: RecordLine) => void): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${c.url}${path}`, { headers: { authorization: `Bearer ${c.token}`, accept: 'text/event-stream' } });
  } catch (e) {
    throw new MicronError('connection_failed', `cannot reach the host at ${c.url}: ${((e as Error).cause as Error | undefined)?.message ?? (e as Error).message}`);
  }
  if (!res.headers.has(API_HEADER)) throw notAdminApi(c, res);
  if (!res.ok) throw answerError(c, res, await res.json().catch(() => undefined));
  if (!res.body || !res.headers.get('content-type')?.startsWith('text/event-stream')) throw notAdminApi(c, res);
  const dec = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += dec.decode(chunk, { stream: true });
    for (let end = buf.indexOf('\n\n'); end !== -1; end = buf.indexOf('\n\n')) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data += line.slice(5).trim();
      }
      if (event === 'invocation' && data) onRecord(JSON.parse(data) as RecordLine);
      else if (event === 'dropped') process.stderr.write(`micron: ${data} records were dropped (the terminal fell behind)\n`);
    }
  }
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [head, ...rows]) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
}

async function build(argv: string[]): Promise<void> {
  const { values, positionals } = parse('build', argv, { out: { type: 'string', short: 'o' } }, 1);
  if (helped('build', values)) return;
  const sdk = (await import('../sdk/build/index.js')) as {
    buildProject: (dir: string, opts: { out?: string; onProgress?: (m: string) => void }) => Promise<{ output: string; bytes: number; language?: string }>;
  };
  const dir = resolve(positionals[0] ?? '.');
  const r = await sdk.buildProject(dir, {
    ...(typeof values.out === 'string' ? { out: resolve(values.out) } : {}),
    onProgress: (m) => process.stderr.write(`micron build: ${m}\n`),
  });
  process.stdout.write(`built ${r.output} (${r.bytes} bytes)\n`);
}

async function newProject(argv: string[]): Promise<void> {
  const { values, positionals } = parse('new', argv, {}, 2);
  if (helped('new', values)) return;
  const [lang, dir] = positionals;
  if (!lang || !dir) throw new UsageError('usage: micron new <assemblyscript|rust|go> <dir>');
  const templates = join(ROOT, 'sdk', 'templates', lang);
  if (!existsSync(templates)) throw new UsageError(`unknown language ${JSON.stringify(lang)}; choose assemblyscript, rust or go`);
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0) throw new UsageError(`${dir} exists and is not empty`);
  await fs.cp(templates, target, { recursive: true });
  process.stdout.write(`created a ${lang} function in ${dir}; build it with: micron build ${dir}\n`);
}

/** Runs the CLI with `argv` (without node and script). Returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'serve':
        await serve(rest);
        return -1; // keeps running
      case 'deploy':
        await deploy(rest);
        return 0;
      case 'list':
      case 'ls':
        await list(rest);
        return 0;
      case 'rm':
      case 'remove':
        await rm(rest);
        return 0;
      case 'versions':
        await versions(rest);
        return 0;
      case 'promote':
        await promote(rest, 'promote');
        return 0;
      case 'rollback':
        await promote(rest, 'rollback');
        return 0;
      case 'logs':
        await logs(rest);
        return 0;
      case 'build':
        await build(rest);
        return 0;
      case 'new':
        await newProject(rest);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        return cmd === undefined ? 1 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}\n\n${HELP}`);
    }
  } catch (e) {
    if (e instanceof UsageError) process.stderr.write(`micron: ${e.message}\n`);
    else if (e instanceof MicronError) process.stderr.write(`micron: ${e.code}: ${e.message}\n`);
    else {
      process.stderr.write(`micron: unexpected error: ${(e as Error).message}\n`);
      if (process.env.MICRON_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    }
    return 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  void main(process.argv.slice(2)).then((code) => {
    if (code >= 0) process.exit(code);
  });
}
