/**
 * The admin dashboard (browser code, bundled by `build.ts` with esbuild into
 * `app.bundle.js`). It talks to the admin API with the token the operator types
 * in; the token lives in memory, and in sessionStorage only when "keep for
 * this tab" is ticked, never in a cookie or localStorage.
 *
 * Views: the function list (version, versions, live request rate), a
 * function's versions (promote, rollback, delete), its configuration (edited
 * as JSON, saved as a new version), a live log tail and a latency chart of
 * its recent invocations; deploy by dropping a .wasm file on the page or
 * choosing one, with upload progress.
 */
import type { InvocationRecord } from '../../observe/invocation-record.js';

interface FunctionInfo {
  name: string;
  version: string;
  versions: number;
  size: number;
  config: Record<string, unknown>;
  aliases: Record<string, string>;
}
interface VersionInfo {
  id: string;
  digest: string;
  size: number;
  createdAt: string;
  aliases: string[];
}
type RecordLine = InvocationRecord;

const TOKEN_KEY = 'micron-admin-token';
let token = sessionStorage.getItem(TOKEN_KEY) ?? '';
let selected: string | undefined;
let tailAbort: AbortController | undefined;
let latencies: number[] = [];
let lastStats: { time: number; functions: Record<string, { requests: number }> } | undefined;
const rates = new Map<string, number>();

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** Creates an element with attributes and children. */
function h(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v);
  }
  for (const c of children) el.append(c);
  return el;
}

function status(message: string, error = false): void {
  const el = $('status');
  el.textContent = message;
  el.className = error ? 'error' : '';
}

/**
 * An admin API path (`/v1/…`) relative to where the dashboard is served, so
 * the dashboard also works when the admin app is mounted under a prefix
 * (`parent.mount('/admin', host.adminFetch)`, opened at `/admin/`).
 */
function apiUrl(path: string): string {
  return new URL(path.replace(/^\//, ''), document.baseURI).href;
}

/** Calls the admin API; throws with the API's error message. */
async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(apiUrl(path), { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!res.ok) throw new Error(json.error ? `${json.error.code}: ${json.error.message}` : `HTTP ${res.status}`);
  return json as T;
}

async function login(ev: Event): Promise<void> {
  ev.preventDefault();
  token = ($('token') as HTMLInputElement).value.trim();
  try {
    await api('GET', '/v1/functions');
  } catch (e) {
    token = '';
    status(`Sign-in failed: ${(e as Error).message}`, true);
    return;
  }
  if (($('keep') as HTMLInputElement).checked) sessionStorage.setItem(TOKEN_KEY, token);
  ($('token') as HTMLInputElement).value = '';
  showApp();
}

function logout(): void {
  token = '';
  sessionStorage.removeItem(TOKEN_KEY);
  tailAbort?.abort();
  $('app').hidden = true;
  $('login').hidden = false;
}

function showApp(): void {
  $('login').hidden = true;
  $('app').hidden = false;
  status('');
  void refresh();
}

async function refresh(): Promise<void> {
  if (!token) return;
  try {
    const [{ functions }, stats] = await Promise.all([
      api<{ functions: FunctionInfo[] }>('GET', '/v1/functions'),
      api<{ time: number; functions: Record<string, { requests: number }> }>('GET', '/v1/stats'),
    ]);
    if (lastStats) {
      const dt = (stats.time - lastStats.time) / 1000;
      for (const [name, s] of Object.entries(stats.functions)) {
        const before = lastStats.functions[name]?.requests ?? 0;
        if (dt > 0) rates.set(name, (s.requests - before) / dt);
      }
    }
    lastStats = stats;
    renderFunctions(functions);
    if (selected && !functions.some((f) => f.name === selected)) selectFunction(undefined);
  } catch (e) {
    status((e as Error).message, true);
  }
}

function renderFunctions(functions: FunctionInfo[]): void {
  const body = $('functions');
  body.replaceChildren(
    ...functions.map((f) => {
      const row = h(
        'tr',
        { 'data-function': f.name, class: f.name === selected ? 'selected' : '' },
        h('td', { text: f.name }),
        h('td', { text: f.version }),
        h('td', { text: String(f.versions) }),
        h('td', { class: 'num', text: (rates.get(f.name) ?? 0).toFixed(1) }),
      );
      row.addEventListener('click', () => selectFunction(f.name));
      return row;
    }),
  );
  if (functions.length === 0) body.append(h('tr', {}, h('td', { colspan: '4', text: 'No functions yet: drop a .wasm file on this page.' })));
}

function selectFunction(name: string | undefined): void {
  selected = name;
  tailAbort?.abort();
  latencies = [];
  $('detail').hidden = !name;
  for (const row of document.querySelectorAll('#functions tr')) row.classList.toggle('selected', (row as HTMLElement).dataset.function === name);
  if (!name) return;
  $('detail-name').textContent = name;
  $('log').replaceChildren();
  drawChart();
  void loadVersions();
  void loadConfig();
  void startTail(name);
}

async function loadVersions(): Promise<void> {
  if (!selected) return;
  const name = selected;
  const { versions } = await api<{ versions: VersionInfo[] }>('GET', `/v1/functions/${name}/versions`);
  $('versions').replaceChildren(
    ...versions.map((v) => {
      const live = v.aliases.includes('latest');
      const promote = h('button', { text: 'Promote', 'data-action': 'promote' });
      promote.addEventListener('click', () => void act(`Promoted ${v.id}`, () => api('POST', `/v1/functions/${name}/promote`, { version: v.id })));
      const del = h('button', { text: 'Delete', 'data-action': 'delete' });
      del.addEventListener('click', () => void act(`Deleted ${v.id}`, () => api('DELETE', `/v1/functions/${name}/versions/${v.id}`)));
      if (live) {
        promote.setAttribute('disabled', '');
        del.setAttribute('disabled', '');
      }
      return h(
        'tr',
        { 'data-version': v.id, class: live ? 'live' : '' },
        h('td', { text: v.id }),
        h('td', { text: v.aliases.join(', ') }),
        h('td', { class: 'num', text: String(v.size) }),
        h('td', { text: v.digest.slice(0, 12) }),
        h('td', { text: new Date(v.createdAt).toLocaleString() }),
        h('td', {}, promote, del),
      );
    }),
  );
}

async function loadConfig(): Promise<void> {
  if (!selected) return;
  const info = await api<FunctionInfo>('GET', `/v1/functions/${selected}`);
  ($('config') as HTMLTextAreaElement).value = JSON.stringify(info.config, null, 2);
  $('config').dataset.keys = JSON.stringify(Object.keys(info.config));
}

async function saveConfig(): Promise<void> {
  if (!selected) return;
  let edited: Record<string, unknown>;
  try {
    edited = JSON.parse(($('config') as HTMLTextAreaElement).value) as Record<string, unknown>;
  } catch {
    status('The configuration is not valid JSON.', true);
    return;
  }
  // PATCH merges: fields removed in the editor are sent as null (back to their defaults).
  const before = JSON.parse($('config').dataset.keys ?? '[]') as string[];
  const patch: Record<string, unknown> = { ...edited };
  for (const k of before) if (!(k in edited)) patch[k] = null;
  await act('Configuration saved as a new version', () => api('PATCH', `/v1/functions/${selected}/config`, patch));
}

/** Runs an API action, reports it, and reloads what it may have changed. */
async function act(done: string, f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
    status(done);
  } catch (e) {
    status((e as Error).message, true);
  }
  await Promise.all([refresh(), loadVersions(), loadConfig()]);
}

/** Tails the function's records (server-sent events read with fetch, so the token goes in a header). */
async function startTail(name: string): Promise<void> {
  const ac = new AbortController();
  tailAbort = ac;
  try {
    const res = await fetch(apiUrl(`/v1/functions/${name}/logs/stream`), { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let end: number;
      while ((end = buf.indexOf('\n\n')) !== -1) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        let event = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data += line.slice(5).trim();
        }
        if (event === 'invocation' && data) addRecord(JSON.parse(data) as RecordLine);
      }
    }
  } catch (e) {
    if (!ac.signal.aborted) status(`Live log stopped: ${(e as Error).message}`, true);
  }
}

function addRecord(r: RecordLine): void {
  const log = $('log');
  const head = `${new Date(r.startedAt).toLocaleTimeString()} ${r.requestId} ${r.version} ${r.status} ${(r.totalUs / 1000).toFixed(2)} ms${r.cold ? ' cold' : ''}${r.detail ? ` — ${r.detail}` : ''}`;
  const entry = h('div', { class: r.status >= 500 ? 'entry failed' : 'entry', 'data-request-id': r.requestId }, h('div', { text: head }));
  for (const l of r.logs) entry.append(h('div', { class: `guest ${l.stream}`, text: l.line }));
  log.prepend(entry);
  while (log.childElementCount > 200) log.lastElementChild?.remove();
  latencies.push(r.totalUs / 1000);
  if (latencies.length > 100) latencies.shift();
  drawChart();
}

/** Latency of the last 100 invocations, ms, as a line over a 0-based axis. */
function drawChart(): void {
  const svg = $('chart');
  const w = 600;
  const hgt = 120;
  const max = Math.max(1, ...latencies);
  const pts = latencies.map((v, i) => `${((i / Math.max(1, latencies.length - 1)) * w).toFixed(1)},${(hgt - (v / max) * (hgt - 10)).toFixed(1)}`).join(' ');
  svg.innerHTML = `<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="${pts}"></polyline><text x="4" y="12" font-size="11">${max.toFixed(2)} ms</text>`;
  svg.dataset.points = String(latencies.length);
}

/** Uploads a component with progress (XMLHttpRequest: fetch has no upload progress). */
function deploy(file: File): void {
  const nameInput = $('deploy-name') as HTMLInputElement;
  const name = nameInput.value.trim() || file.name.replace(/\.wasm$/, '').toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const progress = $('progress') as HTMLProgressElement;
  progress.hidden = false;
  progress.value = 0;
  const xhr = new XMLHttpRequest();
  xhr.open('PUT', `/v1/functions/${encodeURIComponent(name)}`);
  xhr.setRequestHeader('authorization', `Bearer ${token}`);
  xhr.setRequestHeader('content-type', 'application/wasm');
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable) progress.value = e.loaded / e.total;
  };
  xhr.onload = () => {
    progress.value = 1;
    const body = JSON.parse(xhr.responseText || '{}') as { version?: string; error?: { code: string; message: string } };
    if (xhr.status >= 400) status(body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${xhr.status}`, true);
    else {
      status(`Deployed ${name} ${body.version ?? ''}`);
      void refresh().then(() => selectFunction(name));
    }
  };
  xhr.onerror = () => status('The upload failed.', true);
  xhr.send(file);
}

function init(): void {
  $('login-form').addEventListener('submit', (e) => void login(e));
  $('logout').addEventListener('click', logout);
  $('rollback').addEventListener('click', () => void act('Rolled back', () => api('POST', `/v1/functions/${selected}/rollback`)));
  $('save-config').addEventListener('click', () => void saveConfig());
  $('file').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) deploy(f);
  });
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    document.body.classList.remove('dragging');
    const f = e.dataTransfer?.files[0];
    if (f && token) deploy(f);
  });
  setInterval(() => void refresh(), 2000);
  if (token) showApp();
}

init();
