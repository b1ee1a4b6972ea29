/**
 * The admin dashboard in a real browser: Debian's Chromium driven by
 * playwright-core against a host listening on loopback. Signing in, deploying
 * a component through the file input, seeing it listed, invoking it over
 * HTTP, and seeing that invocation arrive in the live log and the latency
 * chart; rolling back from the page.
 *
 * Without /usr/bin/chromium the browser tests are skipped locally with the
 * reason printed; in CI (`CI` or `MICRON_REQUIRE_TOOLCHAINS` set, as `.ci/run`
 * does, which also installs Chromium) they run and fail instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../host/index.js';
import { buildDashboard } from '../host/server/dashboard/build.js';
import { tempHost } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const HELLO_WASM = fileURLToPath(new URL('../components/hello/hello.wasm', import.meta.url));
const INSPECT_WASM = fileURLToPath(new URL('../components/inspect/inspect.wasm', import.meta.url));
const required = Boolean(process.env.CI || process.env.MICRON_REQUIRE_TOOLCHAINS);
const missing = !existsSync(CHROMIUM);
const skip = missing && !required;
if (skip) process.stderr.write(`dashboard.test.ts: skipping the browser tests: ${CHROMIUM} is missing (apt-get install -y chromium)\n`);

describe('the dashboard bundle', () => {
  it('is what esbuild builds from app.ts now (run `npm run dashboard` after editing it)', async () => {
    const committed = readFileSync(new URL('../host/server/dashboard/app.bundle.js', import.meta.url), 'utf8');
    expect(committed).toBe(await buildDashboard());
  });
});

describe.skipIf(skip)('the dashboard in Chromium', () => {
  let host: Host;
  let cleanup: () => Promise<void>;
  let browser: Browser;
  let page: Page;
  let adminUrl: string;
  let publicUrl: string;

  beforeAll(async () => {
    ({ host, cleanup } = await tempHost());
    const { public: pub, admin } = await host.listen({ port: 0, host: '127.0.0.1', adminPort: 0 });
    adminUrl = `http://127.0.0.1:${(admin as AddressInfo).port}`;
    publicUrl = `http://127.0.0.1:${(pub as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless'] });
    page = await browser.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await cleanup?.();
  });

  it('signs in with the admin token, keeping it out of storage unless asked', async () => {
    await page.goto(`${adminUrl}/`);
    await page.fill('#token', 'wrong');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#status.error');
    expect(await page.isHidden('#app')).toBe(true);
    await page.fill('#token', 'test-token-0123456789');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#app', { state: 'visible' });
    expect(await page.evaluate(() => [sessionStorage.length, localStorage.length, document.cookie])).toEqual([0, 0, '']);
  });

  it('deploys a component chosen in the file input, with its name, and lists it', async () => {
    await page.fill('#deploy-name', 'web-hello');
    await page.setInputFiles('#file', HELLO_WASM);
    await page.waitForSelector('tr[data-function="web-hello"]');
    expect(await page.textContent('tr[data-function="web-hello"] td:nth-child(2)')).toBe('v1');
    expect((await host.list()).map((f) => f.name)).toContain('web-hello');
    // The deployed function is selected: its versions are shown.
    await page.waitForSelector('#versions tr[data-version="v1"].live');
  });

  it('shows an invocation made over HTTP in the live log and the latency chart', async () => {
    const res = await fetch(`${publicUrl}/web-hello/`);
    expect(await res.text()).toBe('Hello from Micron!\n');
    const id = res.headers.get('x-micron-request-id')!;
    const entry = await page.waitForSelector(`#log .entry[data-request-id="${id}"]`);
    expect(await entry.textContent()).toContain(' 200 ');
    expect(Number(await page.getAttribute('#chart', 'data-points'))).toBeGreaterThanOrEqual(1);
  });

  it('rolls back and promotes from the versions table', async () => {
    await host.deploy('web-hello', new Uint8Array(readFileSync(INSPECT_WASM)));
    await page.click('tr[data-function="web-hello"]');
    await page.waitForSelector('#versions tr[data-version="v2"].live');
    await page.click('#rollback');
    await page.waitForSelector('#versions tr[data-version="v1"].live');
    expect(await (await fetch(`${publicUrl}/web-hello/`)).text()).toBe('Hello from Micron!\n');
    await page.click('#versions tr[data-version="v2"] button[data-action="promote"]');
    await page.waitForSelector('#versions tr[data-version="v2"].live');
    expect(await (await fetch(`${publicUrl}/web-hello/`)).text()).toContain('method: GET');
  });

  it('saves an edited configuration as a new version', async () => {
    await page.fill('#config', JSON.stringify({ env: { FROM: 'dashboard' } }));
    await page.click('#save-config');
    await page.waitForSelector('#versions tr[data-version="v3"].live');
    expect(await (await fetch(`${publicUrl}/web-hello/`)).text()).toContain('env: FROM=dashboard\n');
  });
});

describe.skipIf(skip)('the dashboard mounted under a prefix in another app', () => {
  it('loads its script and calls the admin API under that prefix', async () => {
    const { host, cleanup } = await tempHost();
    const { Hono } = await import('hono');
    const { serve } = await import('@hono/node-server');
    const app = new Hono();
    app.mount('/admin', host.adminFetch);
    const server = await new Promise<import('node:http').Server>((ok) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => ok(s as import('node:http').Server));
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless'] });
    try {
      await host.deploy('mounted-hello', new Uint8Array(readFileSync(HELLO_WASM)));
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/`);
      await page.fill('#token', 'test-token-0123456789');
      await page.click('#login-form button[type=submit]');
      await page.waitForSelector('tr[data-function="mounted-hello"]');
    } finally {
      await browser.close();
      await new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      });
      await cleanup();
    }
  }, 120_000);
});
