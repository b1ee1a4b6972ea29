#!/usr/bin/env node
// Entry point of the `micron` command. The host is written in TypeScript and
// run through tsx's loader, so the checkout works without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../host/cli.ts');
const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
