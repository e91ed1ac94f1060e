#!/usr/bin/env node
// Runs the compiled CLI in dist/ (`npm run build`; `npm ci` and `npm pack` build it through `prepare`).
import { existsSync } from 'node:fs';

const cliModule = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cliModule)) {
  process.stderr.write(`syscall-lab: error: ${cliModule.pathname} does not exist (the CLI is not built)\n`);
  process.stderr.write(`syscall-lab: fix: run \`npm run build\` in ${new URL('..', import.meta.url).pathname}\n`);
  process.exit(3);
}
const { cli } = await import(cliModule.href);
await cli();
