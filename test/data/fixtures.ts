/** Small CIFAR-format data sets and archives generated for the data tests. */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { Header, create as tarCreate } from 'tar';

export const CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
export const TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];

/** Pixel byte of training/test record `r` (global index in its split), channel c, position k = y*32+x. */
export function pixelOf(split: 'train' | 'test', r: number, c: number, k: number): number {
  return (r * 37 + c * 101 + k * 3 + (split === 'test' ? 13 : 0)) & 255;
}

export function labelOf(split: 'train' | 'test', r: number): number {
  return (r * 3 + (split === 'test' ? 1 : 0)) % 10;
}

/** Bytes of records first..first+n-1 of a split, in the official record layout. */
export function records(split: 'train' | 'test', first: number, n: number): Buffer {
  const buf = Buffer.alloc(n * 3073);
  for (let i = 0; i < n; i++) {
    const r = first + i;
    const o = i * 3073;
    buf[o] = labelOf(split, r);
    for (let c = 0; c < 3; c++) for (let k = 0; k < 1024; k++) buf[o + 1 + c * 1024 + k] = pixelOf(split, r, c, k);
  }
  return buf;
}

export function tempDir(prefix = 'cnnviz-data-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Training records per file in the default fixture (20 in all) and test records. */
export const TRAIN_PER_FILE = [4, 3, 5, 2, 6];
export const TEST_COUNT = 7;

/** Write a complete small CIFAR-10 folder at `dir` (created). */
export function writeCifarDir(dir: string, perFile = TRAIN_PER_FILE, testCount = TEST_COUNT): string {
  mkdirSync(dir, { recursive: true });
  let first = 0;
  perFile.forEach((n, i) => {
    writeFileSync(join(dir, TRAIN_FILES[i]), records('train', first, n));
    first += n;
  });
  writeFileSync(join(dir, 'test_batch.bin'), records('test', 0, testCount));
  // Official file: names one per line plus blank lines at the end.
  writeFileSync(join(dir, 'batches.meta.txt'), `${CLASS_NAMES.join('\n')}\n\n`);
  return dir;
}

export function md5(buf: Buffer): string {
  return createHash('md5').update(buf).digest('hex');
}

/** A .tar.gz (made with the tar package) holding `cifar-10-batches-bin/` with a small data set. */
export async function makeTarball(outFile: string, mutate?: (dataDir: string) => void): Promise<{ file: string; md5: string }> {
  const src = tempDir('cnnviz-tarsrc-');
  const data = writeCifarDir(join(src, 'cifar-10-batches-bin'));
  writeFileSync(join(data, 'readme.html'), '<p>small test copy</p>\n');
  mutate?.(data);
  await tarCreate({ gzip: true, file: outFile, cwd: src, portable: true }, ['cifar-10-batches-bin']);
  const { readFileSync } = await import('node:fs');
  return { file: outFile, md5: md5(readFileSync(outFile)) };
}

/** A hand-built .tar.gz with exactly these entries (paths not sanitised), via tar's Header. */
export function rawTarGz(entries: { path: string; data?: Buffer; type?: 'File' | 'Directory' | 'SymbolicLink'; linkpath?: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const type = e.type ?? 'File';
    const h = new Header({
      path: e.path,
      mode: type === 'Directory' ? 0o755 : 0o644,
      size: type === 'File' ? data.length : 0,
      type,
      linkpath: e.linkpath,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
    });
    h.encode();
    blocks.push(h.block!);
    if (type === 'File' && data.length > 0) {
      blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** Entries of the default small data set under `cifar-10-batches-bin/`, for rawTarGz. */
export function cifarEntries(): { path: string; data?: Buffer; type?: 'File' | 'Directory' }[] {
  const out: { path: string; data?: Buffer; type?: 'File' | 'Directory' }[] = [
    { path: 'cifar-10-batches-bin/', type: 'Directory' },
  ];
  let first = 0;
  TRAIN_PER_FILE.forEach((n, i) => {
    out.push({ path: `cifar-10-batches-bin/${TRAIN_FILES[i]}`, data: records('train', first, n) });
    first += n;
  });
  out.push({ path: 'cifar-10-batches-bin/test_batch.bin', data: records('test', 0, TEST_COUNT) });
  out.push({ path: 'cifar-10-batches-bin/batches.meta.txt', data: Buffer.from(`${CLASS_NAMES.join('\n')}\n`) });
  return out;
}
