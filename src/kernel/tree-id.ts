import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { extract, type Extract } from 'tar-stream';
import { BadInputError } from '../errors.ts';
import { runTool } from '../spawn.ts';

/** One file as git records it in a tree: its mode and the id of its blob. */
interface TreeFile {
  mode: '100644' | '100755' | '120000';
  id: Buffer;
}

interface Folder {
  files: Map<string, TreeFile>;
  folders: Map<string, Folder>;
}

/** Decompressors by the magic bytes tar itself recognises them by. */
const decompressors: { magic: number[]; command: string }[] = [
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], command: 'xz' },
  { magic: [0x1f, 0x8b], command: 'gzip' },
  { magic: [0x42, 0x5a, 0x68], command: 'bzip2' },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], command: 'zstd' },
];

/**
 * The git tree id of a tarball's files under its top folder: the id `git add -A --force && git
 * write-tree` gives the unpacked folder. Every file counts, whatever a .gitignore says; files get
 * git's two modes by the owner's exec bit, symlinks are kept, empty folders are not. So a tarball
 * and a commit of the same files can be known to be one source.
 * Reads the tarball once (1.3 GB unpacked for a 6.1 tree: about half a minute).
 */
export async function tarballTreeId(tarball: string): Promise<string> {
  const top: Folder = { files: new Map(), folders: new Map() };
  const entries = extract();
  const decompressor = decompressorOf(tarball);
  const child = decompressor ? runTool(decompressor, ['-dc', tarball], { buffer: false }) : undefined;
  const input: Readable = child?.stdout ?? createReadStream(tarball);
  // Marked handled at once: a loop that throws first must not leave an unhandled rejection behind.
  const reading = Promise.all([pipeline(input, entries), child]);
  reading.catch(() => undefined);
  try {
    await readEntries(entries, top);
  } catch (error) {
    child?.kill();
    throw error;
  }
  await reading;
  const id = treeId(top);
  if (!id) throw new BadInputError(`${tarball} holds no files under a top folder`, 'give a Linux source tarball');
  return id.toString('hex');
}

async function readEntries(entries: Extract, top: Folder): Promise<void> {
  const byPath = new Map<string, TreeFile>();
  for await (const entry of entries) {
    const { name, type, mode, linkname, size } = entry.header;
    const path = name.split('/').slice(1).filter(Boolean);
    let file: TreeFile | undefined;
    if (type === 'file' || type === 'contiguous-file') {
      const hash = createHash('sha1').update(`blob ${String(size)}\0`);
      for await (const chunk of entry) hash.update(chunk as Buffer);
      file = { mode: mode & 0o100 ? '100755' : '100644', id: hash.digest() };
    } else {
      entry.resume();
      if (type === 'symlink') file = { mode: '120000', id: blobId(Buffer.from(linkname)) };
      // A hard link holds what its target holds; tar stores the target first.
      if (type === 'link') file = byPath.get(linkname.split('/').slice(1).join('/'));
    }
    const base = path.pop();
    if (!file || base === undefined) continue;
    byPath.set([...path, base].join('/'), file);
    folderAt(top, path).files.set(base, file);
  }
}

function decompressorOf(tarball: string): string | undefined {
  const head = Buffer.alloc(6);
  const fd = openSync(tarball, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  return decompressors.find(({ magic }) => magic.every((byte, index) => head[index] === byte))?.command;
}

function folderAt(top: Folder, path: string[]): Folder {
  let folder = top;
  for (const name of path) {
    let next = folder.folders.get(name);
    if (!next) {
      next = { files: new Map(), folders: new Map() };
      folder.folders.set(name, next);
    }
    folder = next;
  }
  return folder;
}

function blobId(content: Buffer): Buffer {
  return gitObjectId('blob', content);
}

function gitObjectId(kind: string, content: Buffer): Buffer {
  return createHash('sha1')
    .update(`${kind} ${String(content.length)}\0`)
    .update(content)
    .digest();
}

/** A folder's tree id, or undefined for a folder without files (git records no empty folders). */
function treeId(folder: Folder): Buffer | undefined {
  const rows: { sortName: Buffer; row: Buffer }[] = [];
  const add = (mode: string, name: string, id: Buffer, isFolder: boolean): void => {
    // git orders a folder as if its name ended in "/".
    rows.push({
      sortName: Buffer.from(isFolder ? `${name}/` : name),
      row: Buffer.concat([Buffer.from(`${mode} ${name}\0`), id]),
    });
  };
  for (const [name, file] of folder.files) add(file.mode, name, file.id, false);
  for (const [name, sub] of folder.folders) {
    const id = treeId(sub);
    if (id) add('40000', name, id, true);
  }
  if (rows.length === 0) return undefined;
  rows.sort((a, b) => Buffer.compare(a.sortName, b.sortName));
  return gitObjectId('tree', Buffer.concat(rows.map(({ row }) => row)));
}
