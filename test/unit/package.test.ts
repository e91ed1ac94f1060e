import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.ts';
import { buildMeta } from '../build-dist.ts';
import { useTempDirs } from './support/temp.ts';

// The package ships dist/ (src/ bundled by esbuild; test/build-dist.ts builds it before the tests) and the
// files the runtime reads next to it, found through projectRoot; never the tests or src/**/*.ts.
const tempDir = useTempDirs('syscall-lab-package-');
const read = (file: string): string => readFileSync(join(projectRoot, file), 'utf8');

function files(dir: string): string[] {
  return readdirSync(join(projectRoot, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(projectRoot, path)).isDirectory() ? files(path) : [path];
  });
}

/** Every path the runtime reads under the project's folder (files and folders), as written in the code. */
function runtimePaths(): string[] {
  const paths = new Set<string>();
  // src/: join(projectRoot, 'a', 'b', ...) (upgradeKernelScript and shippedFolder are made so too).
  for (const file of files('src').filter((f) => f.endsWith('.ts')))
    for (const [, args] of read(file).matchAll(/join\(\s*projectRoot\s*,\s*((?:'[^']*'\s*,?\s*)+)\)/g))
      paths.add([...args!.matchAll(/'([^']*)'/g)].map(([, part]) => part).join('/'));
  // upgrade-kernel.sh: "$here/..."; the Vagrantfile (vagrant runs in projectRoot): File.join(here, "...").
  for (const [, path] of read('upgrade-kernel.sh').matchAll(/\$here\/([\w./-]+)/g)) paths.add(path!);
  for (const [, path] of read('Vagrantfile').matchAll(/File\.join\(here, "([^"#]+)"\)/g)) paths.add(path!);
  paths.add('Vagrantfile');
  // The default patch folders (patches-<version>, found in projectRoot by src/kernel/patches.ts).
  for (const name of readdirSync(projectRoot)) if (name.startsWith('patches-')) paths.add(name);
  // Every file in src/ that is not TypeScript is data some module reads.
  for (const file of files('src')) if (!file.endsWith('.ts')) paths.add(file);
  return [...paths].sort();
}

describe('the package', () => {
  let packed: string[] = [];
  beforeAll(async () => {
    // What `npm pack` would put in the tarball (--ignore-scripts: dist/ is already built).
    const result = await execa('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: projectRoot,
      env: { npm_config_cache: tempDir() },
    });
    const [pack] = JSON.parse(result.stdout) as { files: { path: string }[] }[];
    packed = pack!.files.map((file) => file.path).sort();
  }, 120_000);

  it('ships every file the runtime reads next to the code', () => {
    const paths = runtimePaths();
    expect(paths).toEqual(
      expect.arrayContaining([
        'upgrade-kernel.sh',
        'Vagrantfile',
        'src/guest/init.sh',
        'src/checks/guest/probe.c',
        'src/checks/guest/bad-pointers.h',
        'src/kernel/config',
        'src/kernel/compat',
        'src/kernel/versions.tsv',
        'src/vm/vagrant-box.sh',
        'patches-6.1',
        'userland',
      ]),
    );
    const missing = paths.filter((path) => !packed.some((file) => file === path || file.startsWith(`${path}/`)));
    expect(missing).toEqual([]);
  });

  it('ships the bundled CLI, and no tests, TypeScript sources or build leftovers', () => {
    expect(packed).toEqual(expect.arrayContaining(['bin/syscall-lab.mjs', 'dist/cli.js', 'README.md', 'package.json']));
    expect(packed).toEqual(expect.arrayContaining(files('dist')));
    expect(packed.filter((file) => /\.ts$|^test\/|^bench\/|^tsconfig|\.tsbuildinfo$|\.map$/.test(file))).toEqual([]);
  });

  it('starts from bin/syscall-lab.mjs, which runs dist/ with node alone, and depends on what dist/ imports', () => {
    const manifest = JSON.parse(read('package.json')) as {
      bin: Record<string, string>;
      dependencies: Record<string, string>;
    };
    expect(manifest.bin).toEqual({ 'syscall-lab': 'bin/syscall-lab.mjs' });
    const bin = read('bin/syscall-lab.mjs');
    expect(bin).toMatch(/new URL\('\.\.\/dist\/cli\.js', import\.meta\.url\)/);
    expect(bin).not.toMatch(/tsx|\.ts'/);
    // esbuild bundles every package but ssh2 (native code), execa and tar-stream (whose CommonJS code
    // requires Node's modules, which an ES bundle cannot: esbuild's shim throws "Dynamic require of
    // "events" is not supported" when the chunk loads): the dependencies are exactly the packages dist/
    // imports, and no bundled package requires anything.
    for (const file of files('dist')) expect(read(file), file).not.toMatch(/Dynamic require of/);
    const imported = new Set(
      files('dist').flatMap((file) =>
        [...read(file).matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*"([^".][^"]*)";$/gm)]
          .map(([, name]) => name!)
          .filter((name) => !name.startsWith('node:') && !builtinModules.includes(name))
          .map((name) => name.split('/')[0]!),
      ),
    );
    expect([...imported].sort()).toEqual(Object.keys(manifest.dependencies).sort());
  });

  it('loads every file of dist/ with node alone (a bundled CommonJS require would throw here)', async () => {
    for (const file of files('dist')) {
      const loaded = await execa(process.execPath, ['--input-type=module', '-e', `await import('./${file}')`], {
        cwd: projectRoot,
        reject: false,
      });
      expect(loaded.stderr, file).toBe('');
      expect(loaded.exitCode, file).toBe(0);
    }
  }, 120_000);

  it('has `using` and `await using` declarations lowered in dist/ (Node 20 cannot parse them)', () => {
    const unlowered = files('dist').filter(
      (file) => file.endsWith('.js') && /^\s*(await\s+)?using\s+\w+\s*=/m.test(read(file)),
    );
    expect(unlowered).toEqual([]);
  });

  it('loads no command module, ssh2, execa or zod for --help', async () => {
    const dir = tempDir();
    const hooks = join(dir, 'hooks.mjs');
    const register = join(dir, 'register.mjs');
    writeFileSync(
      hooks,
      'export async function load(url, context, next) { process.stderr.write(`loaded ${url}\\n`); return next(url, context); }\n',
    );
    writeFileSync(
      register,
      `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hooks}`)});\n`,
    );
    // esbuild's metafile of the build: the sources bundled into each file of dist/.
    const meta = JSON.parse(readFileSync(buildMeta, 'utf8')) as { outputs: Record<string, { inputs: object }> };
    for (const args of [['--help'], ['run', '--help']]) {
      const result = await execa(process.execPath, [
        '--import',
        register,
        join(projectRoot, 'bin', 'syscall-lab.mjs'),
        ...args,
      ]);
      expect(result.stdout).toMatch(/^syscall-lab/);
      const loaded = result.stderr
        .split('\n')
        .filter((line) => line.startsWith('loaded file://'))
        .map((line) => relative(projectRoot, line.slice('loaded file://'.length)));
      expect(loaded).toContain('dist/cli.js');
      expect(loaded.filter((file) => file.startsWith('node_modules/'))).toEqual([]);
      const sources = loaded.flatMap((file) => Object.keys(meta.outputs[file]?.inputs ?? {}));
      expect(sources).toContain('src/cli.ts');
      expect(
        sources.filter((file) => /^src\/(commands|stages|vm|kernel|checks|guest)\/|\/(ssh2|execa|zod)\//.test(file)),
      ).toEqual([]);
    }
  });
});
