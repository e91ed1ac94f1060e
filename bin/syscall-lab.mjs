#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npx syscall-lab` works right after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { cli } = await import('../src/cli.ts');
await cli();
