// A consumer's program, type-checked by test/consumer-types.test.ts with the
// kind of strict configuration an application that embeds Micron uses:
// it must compile without Micron-specific compiler settings.
import { Hono } from 'hono';
import { createHost, type DeployResult, type FunctionInfo, type Host } from 'micron';

const host: Host = await createHost({ dataDir: './.micron', adminToken: process.env.ADMIN_TOKEN ?? 'a-long-enough-admin-token' });
const deployed: DeployResult = await host.deploy('hello', new Uint8Array(0));
const listed: FunctionInfo[] = await host.list();
const app = new Hono();
app.route('/fn', host.app);
app.mount('/admin', host.adminFetch);
console.log(deployed.version, listed.length);
await host.close();
