import { describe, expect, it } from 'vitest';
import { judgeSamples, samples, samplesNeeded, type Sample } from '../../src/checks/sampling.ts';

const s = (syscall: number | null, reference: number | null, ret: number | null = 0): Sample => ({
  syscall,
  reference,
  ret,
});

describe('judgeSamples', () => {
  it('takes 5 samples and needs 3 equal', () => {
    expect(samples).toBe(5);
    expect(samplesNeeded).toBe(3);
  });

  it('passes with 3 of 5 equal', () => {
    const verdict = judgeSamples([s(31, 31), s(32, 31), s(31, 31), s(30, 31), s(31, 31)]);
    expect(verdict.pass).toBe(true);
    expect(verdict.equal).toBe(3);
  });

  it('passes with 5 of 5 equal', () => {
    expect(judgeSamples([s(7, 7), s(8, 8), s(9, 9), s(10, 10), s(11, 11)])).toMatchObject({ pass: true, equal: 5 });
  });

  it('fails with 2 of 5 equal', () => {
    const verdict = judgeSamples([s(31, 31), s(32, 31), s(31, 31), s(30, 31), s(33, 31)]);
    expect(verdict.pass).toBe(false);
    expect(verdict.equal).toBe(2);
  });

  it('never counts a sample whose syscall returned a negative value', () => {
    const verdict = judgeSamples([s(31, 31, -14), s(31, 31, -38), s(31, 31, -1), s(31, 31, 0), s(31, 31, 0)]);
    expect(verdict.equal).toBe(2);
    expect(verdict.pass).toBe(false);
  });

  it('counts any non-negative return value as success', () => {
    expect(judgeSamples([s(1, 1, 0), s(1, 1, 3), s(1, 1, 451), s(1, 2), s(1, 2)])).toMatchObject({
      pass: true,
      equal: 3,
    });
  });

  it('never counts a sample without a return value or a reading', () => {
    expect(judgeSamples([s(31, 31, null), s(null, null), s(null, 31), s(31, 31), s(31, 31)]).equal).toBe(2);
  });

  it('fails with fewer than 5 samples, even if all are equal', () => {
    expect(judgeSamples([s(31, 31), s(31, 31), s(31, 31), s(31, 31)])).toMatchObject({ pass: false, equal: 4 });
    expect(judgeSamples([])).toMatchObject({ pass: false, equal: 0 });
  });

  it('tabulates every sample and marks those that differ', () => {
    const { table } = judgeSamples([s(31, 31), s(32, 31, 0), s(null, 31, null), s(31, 31), s(31, 31)]);
    const lines = table.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe('sample 1: syscall 31 (ret 0), reference 31');
    expect(lines[1]).toBe('sample 2: syscall 32 (ret 0), reference 31  <- differs');
    expect(lines[2]).toBe('sample 3: syscall none (ret none), reference 31  <- differs');
  });
});
