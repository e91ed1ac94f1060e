import { describe, it } from 'vitest';
import { expectMistakeCaught, mistakes } from '../e2e/mistakes.ts';

// `npm run test:fixtures`: every usual mistake alone on Linux 6.1, each failing exactly its checks.
// Not part of `npm test` (one kernel and one boot each); npm test runs them paired.
describe('each usual syscall mistake alone on Linux 6.1', () => {
  it.each(Object.values(mistakes))('$name fails exactly $fails', async (mistake) => {
    await expectMistakeCaught(mistake);
  });
});
