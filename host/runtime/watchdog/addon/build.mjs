// Builds the native deadline watchdog (watchdog.cc) with node-gyp. Run by
// `npm ci` / `npm install` (the package's `install` script) and by hand.
//
// Node's headers are taken from the local installation when it has them
// (`<prefix>/include/node`, as Debian's and NodeSource's packages do), so no
// download is needed. A failed build is not fatal: the host then uses the
// slower `vm` watchdog and says so at start (docs/adr/002-deadlines.md).
// With MICRON_REQUIRE_WATCHDOG=1 (CI) a failed build fails the install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const required = process.env.MICRON_REQUIRE_WATCHDOG === '1';

function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  // npm's bundled copy, next to the node binary's prefix.
  const prefix = dirname(dirname(process.execPath));
  for (const p of [join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'), join(prefix, 'node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')]) {
    if (existsSync(p)) return p;
  }
  return undefined;
}

function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include/node/node.h')) ? prefix : undefined;
}

function fail(message) {
  process.stderr.write(`micron: the native deadline watchdog was not built: ${message}\nmicron: guests will be stopped by the slower vm watchdog instead (see docs/adr/002-deadlines.md)\n`);
  process.exit(required ? 1 : 0);
}

const gyp = nodeGyp();
if (!gyp) fail('node-gyp was not found (it ships with npm)');
const dir = nodeDir();
const args = [gyp, 'rebuild', `--directory=${here}`, ...(dir ? [`--nodedir=${dir}`] : [])];
const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
  fail(`node-gyp exited with ${r.status ?? r.signal}${dir ? '' : ' (no local Node headers found; install them, e.g. Debian libnode-dev, or set npm_config_nodedir)'}\n${out}`);
}
process.stdout.write('micron: built the native deadline watchdog\n');
