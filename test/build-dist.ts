// Vitest's globalSetup for the projects whose tests start the CLI (`node bin/syscall-lab.mjs`, which runs
// dist/, src/ bundled by esbuild): builds dist/ first when a source changed since the last build, so a test
// never runs a stale CLI, whether started by `npm run test:*` or by `npx vitest run --project unit FILE`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../src/paths.ts';

/** esbuild's record of the last build (`npm run build`): which sources went into which file of dist/. */
export const buildMeta = join(projectRoot, 'node_modules', '.cache', 'syscall-lab', 'build-meta.json');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Why dist/ must be built, or undefined when it is as new as every source. */
export function staleReason(): string | undefined {
  const cli = join(projectRoot, 'dist', 'cli.js');
  for (const output of [cli, buildMeta]) if (!existsSync(output)) return `${output} does not exist`;
  const built = Math.min(statSync(cli).mtimeMs, statSync(buildMeta).mtimeMs);
  const inputs = [...sources(join(projectRoot, 'src')), join(projectRoot, 'package.json')];
  const newer = inputs.find((file) => statSync(file).mtimeMs > built);
  return newer && `${newer} changed since the last build`;
}

export default function buildDist(): void {
  const reason = staleReason();
  if (!reason) return;
  process.stderr.write(`build-dist: ${reason}: npm run build\n`);
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: projectRoot, encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(
      `build-dist: npm run build failed (exit ${String(result.status)}):\n${result.stdout}${result.stderr}`,
    );
}
