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
export type { FunctionLimits, HostOptions, HostLimits } from './config.js';
export type { ModuleCacheStats } from './compile/module-cache.js';
export { DEFAULT_LIMITS } from './config.js';
export type { DeployOptions, DeployResult, FunctionInfo, PromoteResult, VersionInfo } from './registry/registry.js';
export type { InvocationRecord, GuestLogLine } from './observe/invocation-record.js';
export type { RecordQuery } from './observe/invocation-records.js';
export type { ObserveOptions } from './observe/observer.js';
export type { RejectionReason } from './observe/metrics.js';
export type { FunctionConfig, InvokeAuth } from './registry/store.js';
export { MicronError, ERROR_CODES, type ErrorBody, type ErrorCode } from './errors.js';
export { REQUEST_ID_HEADER } from './runtime/runtime.js';
