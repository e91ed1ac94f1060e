import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.ts';

// Rules about the code itself, so they hold as it grows.
const src = join(projectRoot, 'src');

function modules(dir = src): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return modules(path);
    return name.endsWith('.ts') ? [relative(projectRoot, path)] : [];
  });
}

const lineCount = (file: string): number => readFileSync(join(projectRoot, file), 'utf8').trimEnd().split('\n').length;

describe('the code in src/', () => {
  it('has no module over 300 lines', () => {
    const long = modules()
      .map((file) => `${file}: ${lineCount(file)} lines`)
      .filter((entry) => Number(/: (\d+) lines$/.exec(entry)?.[1]) > 300);
    expect(long).toEqual([]);
  });

  it("lists every module in the README's layout section, one line each saying what it does", () => {
    const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
    const layout = /^## Layout\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme)?.[1] ?? '';
    expect(layout, 'README.md has a "## Layout" section').not.toBe('');
    const missing = modules().filter((file) => {
      const line = layout.split('\n').find((l) => l.trimStart().startsWith(`${file} `));
      // The module's path, then what it does (at least a few words).
      return !line || line.trim().slice(file.length).trim().split(/\s+/).length < 3;
    });
    expect(missing).toEqual([]);
  });

  it("writes to stdout and stderr only in the renderer and the CLI's final error print", () => {
    // Other output is an event (src/events.ts), rendered in src/render.ts. `syscall-lab ssh` hands the
    // terminal to OpenSSH (stdio: inherit), which is not a write of ours.
    const allowed = new Set(['src/render.ts', 'src/cli.ts']);
    const writers = modules().filter(
      (file) =>
        !allowed.has(file) &&
        /process\.(stdout|stderr)\.write|console\.(log|error|warn|info|debug)\(/.test(
          readFileSync(join(projectRoot, file), 'utf8'),
        ),
    );
    expect(writers).toEqual([]);
  });

  it('writes in src/cli.ts only the final error (the renderer writes everything else)', () => {
    const cli = readFileSync(join(src, 'cli.ts'), 'utf8');
    const writes = cli.split('\n').filter((line) => /process\.(stdout|stderr)\.write/.test(line));
    expect(writes.length).toBeGreaterThan(0);
    for (const line of writes)
      expect(line).toMatch(/process\.stderr\.write\(\s*`syscall-lab: (error|fix|internal error)|error\.details/);
  });

  it('starts processes only through src/spawn.ts, which decides what environment each gets', () => {
    const allowed = new Set(['src/spawn.ts']);
    const importers = modules().filter(
      (file) =>
        !allowed.has(file) &&
        /from\s+['"]execa['"]|import\(\s*['"]execa['"]|require\(\s*['"]execa['"]|['"](node:)?child_process['"]/.test(
          readFileSync(join(projectRoot, file), 'utf8'),
        ),
    );
    expect(importers).toEqual([]);
  });
});
