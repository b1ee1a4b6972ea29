#!/usr/bin/env node
// Entry point of the `micron` command. The host is written in TypeScript and
// run through a small loader (host/loader/hooks.mjs: esbuild strips the types
// as each file loads), so the checkout works without a build step.
import '../host/loader/register.mjs';

const { main } = await import('../host/cli.ts');
const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
