// `node --import ./host/loader/register.mjs app.ts`: registers the hooks in
// hooks.mjs (TypeScript sources run directly, without esbuild's keepNames).
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
