import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach } from 'vitest';
import { projectRoot } from '../../../src/paths.ts';
import { callcountPatch, writeFakeTree } from './fake-kernel.ts';

/**
 * What `syscall-lab build` needs to run end to end without compiling anything: a fake kernel
 * tree (enough for upgrade-kernel.sh: its kconfig helper scripts are stubs), a patch set that
 * applies to it, and a fake `make` first on PATH that answers what upgrade-kernel.sh asks of
 * kbuild (tinyconfig, olddefconfig, kernelrelease, bzImage) and can be told to hang in bzImage.
 */
export const bin = join(projectRoot, 'bin', 'syscall-lab.mjs');

/** kbuild's helper scripts, as upgrade-kernel.sh calls them from the tree. */
const mergeConfig = `#!/bin/sh
# merge_config.sh -m -O . .config FRAGMENT: append the fragment (later lines win in kconfig).
for last; do :; done
cat "$last" >> .config
`;

const scriptsConfig = `#!/bin/sh
# scripts/config --file F --set-str NAME VALUE --disable NAME
file=.config
while [ $# -gt 0 ]; do
  case "$1" in
    --file) file=$2; shift 2 ;;
    --set-str) printf 'CONFIG_%s="%s"\\n' "$2" "$3" >> "$file"; shift 3 ;;
    --disable) printf '# CONFIG_%s is not set\\n' "$2" >> "$file"; shift 2 ;;
    *) shift ;;
  esac
done
`;

/**
 * The fake make. State goes to $FAKE_MAKE_STATE: "calls" (one line per target), and for each
 * bzImage build "<kind>.pid" (kind: stock or patched) and "<kind>.count". With
 * FAKE_MAKE_HANG=<kind> that build writes half a bzImage, a "half-built" mark at the top of the
 * tree and a temporary file (mktemp, as gcc does under $TMPDIR), records the temporary file's
 * path in "<kind>.tmpfile", then sleeps.
 */
const fakeMake = `#!/bin/bash
state=\${FAKE_MAKE_STATE:?}
tree=. target="" extra="" check=""
while [ $# -gt 0 ]; do
  case "$1" in
    -C) tree=$2; shift 2 ;;
    C=2) check=1; shift ;;
    EXTRAVERSION=*) extra=\${1#EXTRAVERSION=}; shift ;;
    -*|*=*) shift ;;
    *) target=$1; shift ;;
  esac
done
cd "$tree" || exit 2
echo "$target" >> "$state/calls"
lv=$(sed -n 's/^CONFIG_LOCALVERSION="\\(.*\\)"$/\\1/p' .config 2>/dev/null | tail -1)
# Like kbuild: kernelrelease reads CONFIG_LOCALVERSION from include/config/auto.conf, which only
# syncconfig (and every build) writes from .config, so a reused tree reports the previous value.
syncconfig() { mkdir -p include/config && echo "CONFIG_LOCALVERSION=\\"$lv\\"" > include/config/auto.conf; }
synced=$(sed -n 's/^CONFIG_LOCALVERSION=//p' include/config/auto.conf 2>/dev/null | tr -d '"' | tail -1)
case "$target" in
  tinyconfig|defconfig) printf 'CONFIG_64BIT=y\\n' > .config ;;
  kvm_guest.config|kvmconfig|olddefconfig) ;;
  syncconfig) syncconfig ;;
  kernelrelease) echo "6.1.0$extra$synced" ;;
  bzImage)
    syncconfig
    kind=\${lv#-}; kind=\${kind%%-*}
    echo $(( $(cat "$state/$kind.count" 2>/dev/null || echo 0) + 1 )) > "$state/$kind.count"
    mkdir -p arch/x86/boot
    if [ "\${FAKE_MAKE_HANG:-}" = "$kind" ]; then
      echo half > arch/x86/boot/bzImage
      echo "$lv" > half-built
      mktemp > "$state/$kind.tmpfile"
      echo $$ > "$state/$kind.pid.part" && mv "$state/$kind.pid.part" "$state/$kind.pid"
      exec sleep 600
    fi
    echo $$ > "$state/$kind.pid"
    table=arch/x86/entry/syscalls/syscall_64.tbl
    echo "fake bzImage$lv callcount=$(grep -c callcount $table)" > arch/x86/boot/bzImage
    echo "fake System.map" > System.map
    echo "fake vmlinux" > vmlinux
    ;;
  scripts_gdb)
    # kbuild generates linux/constants.py and links the loader into the top of the tree.
    mkdir -p scripts/gdb/linux
    echo "# fake constants" > scripts/gdb/linux/constants.py
    ln -fsn "$PWD/scripts/gdb/vmlinux-gdb.py" vmlinux-gdb.py
    ;;
  *.o)
    # make C=2 FILE.o (upgrade-kernel.sh --sparse): kbuild's CHECK line, then what FAKE_SPARSE_SAYS.
    [ -n "$check" ] || { echo "fake make: $target without C=2" >&2; exit 2; }
    echo "  CHECK   \${target%.o}.c"
    [ -z "\${FAKE_SPARSE_SAYS:-}" ] || echo "$FAKE_SPARSE_SAYS"
    ;;
  *) echo "fake make: unexpected target '$target'" >&2; exit 2 ;;
esac
`;

/** apt-get as it fails on a host that cannot fetch the package (offline, or no such package). */
const failingAptGet = `#!/bin/sh
echo "apt-get $*" >> "\${FAKE_APT_LOG:-/dev/null}"
case "$1" in
  update)
    echo "Err:1 http://deb.debian.org/debian bookworm InRelease"
    echo "  Temporary failure resolving 'deb.debian.org'"
    echo "W: Some index files failed to download. They have been ignored, or old ones used instead."
    exit 0 ;;
  install)
    echo "Reading package lists..."
    for last; do :; done
    echo "E: Unable to locate package $last" >&2
    exit 100 ;;
esac
exit 100
`;

export function writeScript(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

export interface FakeBuild {
  /** The fake kernel tree (Linux 6.1 by its Makefile). */
  tree: string;
  /** A patch set that adds callcount to the fake tree. */
  patches: string;
  /** Where the fake make records what it did. */
  state: string;
  /** Folder with the fake make (and apt-get) to put first on PATH. */
  fakeBin: string;
}

export function makeFakeBuild(root: string): FakeBuild {
  const tree = writeFakeTree(join(root, 'linux-6.1'), {
    'kernel/configs/tiny.config': '# tinyconfig\n',
    'scripts/kconfig/merge_config.sh': mergeConfig,
    'scripts/config': scriptsConfig,
    'scripts/gdb/vmlinux-gdb.py': '# the kernel gdb helpers (fake)\n',
    'scripts/decode_stacktrace.sh': '#!/bin/bash\n# the stack-trace decoder (fake)\n',
  });
  for (const script of ['scripts/kconfig/merge_config.sh', 'scripts/config']) chmodSync(join(tree, script), 0o755);
  const patches = join(root, 'patches');
  mkdirSync(patches);
  writeFileSync(join(patches, '0001-callcount.patch'), callcountPatch);
  const state = join(root, 'state');
  mkdirSync(state);
  const fakeBin = join(root, 'fake-bin');
  mkdirSync(fakeBin);
  writeScript(join(fakeBin, 'make'), fakeMake);
  writeScript(join(fakeBin, 'apt-get'), failingAptGet);
  return { tree, patches, state, fakeBin };
}

/** A fake apt-get that fails to fetch anything, logging its calls to $FAKE_APT_LOG. */
export function writeFailingAptGet(dir: string): void {
  writeScript(join(dir, 'apt-get'), failingAptGet);
}

/**
 * A PATH of one folder that holds a link to every command of `path` except `without`, plus
 * the files of `extra` (fakes, which win over real commands of the same name): a host where
 * those commands are not installed.
 */
export function pathWithout(
  dir: string,
  without: string[],
  extra: string[] = [],
  path = process.env.PATH ?? '',
): string {
  mkdirSync(dir, { recursive: true });
  const taken = new Set(without);
  for (const file of extra) {
    const name = file.split('/').pop()!;
    symlinkSync(file, join(dir, name));
    taken.add(name);
  }
  for (const folder of path.split(delimiter).filter(Boolean)) {
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder)) {
      if (taken.has(name)) continue;
      const file = join(folder, name);
      try {
        if (!statSync(file).isFile() || (statSync(file).mode & 0o111) === 0) continue;
      } catch {
        continue; // a dangling link
      }
      symlinkSync(file, join(dir, name));
      taken.add(name);
    }
  }
  return dir;
}

/** The environment without any SYSCALL_LAB_* (yargs reads those as options) plus `extra`. */
export function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env))
    if (value !== undefined && !key.startsWith('SYSCALL_LAB_')) env[key] = value;
  return { ...env, ...extra };
}

/** Starts the CLI (not awaited: the caller may signal it). */
export function startCli(args: string[], env: Record<string, string>) {
  return execa(process.execPath, [bin, ...args], {
    reject: false,
    all: true,
    extendEnv: false,
    env: cleanEnv(env),
    cwd: projectRoot,
    timeout: 120_000,
  });
}

/** `syscall-lab build` (or `run`) of the fake tree with the fake make first on PATH. */
export function startFakeBuild(
  fake: FakeBuild,
  cacheDir: string,
  env: Record<string, string> = {},
  command: 'build' | 'run' = 'build',
) {
  return startCli(
    [command, '--kernel-source', fake.tree, '--patches', fake.patches, '--cache', cacheDir, '--jobs', '1'],
    {
      PATH: `${fake.fakeBin}${delimiter}${process.env.PATH ?? ''}`,
      FAKE_MAKE_STATE: fake.state,
      ...env,
    },
  );
}

/** Resolves once `file` exists (polled; the caller's test timeout bounds the wait). */
export async function waitForFile(file: string, alsoAlive?: () => boolean): Promise<string> {
  for (;;) {
    if (existsSync(file)) return readFileSync(file, 'utf8').trim();
    if (alsoAlive && !alsoAlive())
      throw new Error(`gave up waiting for ${file}: the process it should come from is gone`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether a process runs (a zombie waiting for its parent to reap it does not). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Names in a folder, or [] when it does not exist. */
export function entries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** Live processes (not zombies) whose command line contains `text`, as "pid command". */
export function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let command: string;
    try {
      command = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    } catch {
      continue;
    }
    if (command.includes(text) && isRunning(Number(name))) found.push(`${name} ${command}`);
  }
  return found;
}

/**
 * A fake build for each test of the file: its fake tools first on PATH, a cache of its own and
 * the fake make's state in the environment, which is put back as it was after each test. Returns
 * the current test's fake build.
 */
export function useFakeBuild(tempDir: () => string): () => FakeBuild {
  const path = process.env.PATH;
  const saved = (['PATH', 'SYSCALL_LAB_CACHE', 'FAKE_MAKE_STATE'] as const).map(
    (name) => [name, process.env[name]] as const,
  );
  let current: FakeBuild | undefined;
  beforeEach(() => {
    current = makeFakeBuild(tempDir());
    process.env.PATH = `${current.fakeBin}${delimiter}${path ?? ''}`;
    process.env.SYSCALL_LAB_CACHE = tempDir();
    process.env.FAKE_MAKE_STATE = current.state;
  });
  afterEach(() => {
    for (const [name, value] of saved) {
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
  });
  return () => {
    if (!current) throw new Error('useFakeBuild: no test is running');
    return current;
  };
}
