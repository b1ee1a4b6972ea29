/**
 * Micron's public API. Everything a Node developer needs to embed the host:
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { createHost } from 'micron';
 *
 * const host = await createHost({ dataDir: './.micron' });
 * await host.deploy('hello', await readFile('hello.wasm'));
 * const app = new Hono();
 * app.mount('/fn', host.fetch);            // /fn/hello/… runs the component
 * ```
 */
export { createHost, type Host } from './host.js';
export type { HostOptions, HostLimits } from './config.js';
export { DEFAULT_LIMITS } from './config.js';
export type { DeployResult, FunctionInfo } from './registry/registry.js';
export type { FunctionConfig } from './registry/store.js';
export { MicronError, ERROR_CODES, type ErrorCode } from './errors.js';
export { REQUEST_ID_HEADER } from './runtime/runtime.js';
