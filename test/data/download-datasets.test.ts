import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { create as tarCreate } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATASET_SOURCES, downloadDataset, ensureData } from '../../src/data/download.js';
import { loadCifar100 } from '../../src/data/cifar100.js';
import { loadIdx } from '../../src/data/idx.js';
import { UserError } from '../../src/util/errors.js';
import { runCli } from '../helpers/cli.js';
import { idxFile, idxLabel, writeCifar100Dir } from '../helpers/image-folder.js';
import { md5, tempDir } from './fixtures.js';

// Files served from 127.0.0.1 only; their MD5s are passed in (md5s), as a mirror with its own packing would.
const root = tempDir('cnnviz-dlds-');
const served = new Map<string, Buffer>();
let server: http.Server;
let base: string;
let requests: string[] = [];
const quiet = { log: () => {}, progress: 'off' as const };
let n = 0;
const freshDir = (): string => join(root, `d${++n}`, 'data');

function idxFiles(count: number): Record<string, Buffer> {
  const px = new Uint8Array(count * 784).map((_, k) => k & 255);
  const lb = Uint8Array.from({ length: count }, (_, i) => idxLabel(i));
  return {
    'train-images-idx3-ubyte.gz': idxFile([count, 28, 28], px, true),
    'train-labels-idx1-ubyte.gz': idxFile([count], lb, true),
    't10k-images-idx3-ubyte.gz': idxFile([count, 28, 28], px, true),
    't10k-labels-idx1-ubyte.gz': idxFile([count], lb, true),
  };
}

const md5s = (files: Record<string, Buffer>): Record<string, string> => Object.fromEntries(Object.entries(files).map(([k, v]) => [k, md5(v)]));

/** Leftovers of a download in a data folder: temp files, parts. */
const leftovers = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('.cnnviz-download')) : []);

beforeAll(async () => {
  for (const [k, v] of Object.entries(idxFiles(12))) served.set(`/mnist/${k}`, v);
  const bad = idxFiles(12);
  bad['t10k-labels-idx1-ubyte.gz'] = idxFile([12], new Uint8Array(12).fill(12), true);
  for (const [k, v] of Object.entries(bad)) served.set(`/badlabels/${k}`, v);
  const src = tempDir('cnnviz-c100src-');
  writeCifar100Dir(join(src, 'cifar-100-binary'), 8, 4);
  const tgz = join(src, 'c100.tar.gz');
  await tarCreate({ gzip: true, file: tgz, cwd: src, portable: true }, ['cifar-100-binary']);
  served.set('/mirror/c100.tar.gz', readFileSync(tgz));
  server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = served.get(req.url ?? '');
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('cnnviz download mnist | fashion-mnist | cifar-100', () => {
  it('installs the four IDX files into data/<name> after checking each MD5 and the data, and keeps a valid copy', async () => {
    const dir = freshDir();
    const files = idxFiles(12);
    const folder = await downloadDataset('fashion-mnist', { dir, url: `${base}/mnist/`, md5s: md5s(files), ...quiet });
    expect(folder).toBe(join(dir, 'fashion-mnist'));
    expect(readdirSync(folder).sort()).toEqual(Object.keys(files).sort());
    const d = await loadIdx(folder);
    expect(d.kind).toBe('fashion-mnist');
    expect(d.train.count).toBe(12);
    expect(leftovers(dir)).toEqual([]);
    requests = [];
    await downloadDataset('fashion-mnist', { dir, url: `${base}/mnist`, md5s: md5s(files), ...quiet });
    expect(requests).toEqual([]);
    // train --dataset without --data finds it there.
    expect(await ensureData(undefined, 'fashion-mnist', { noDownload: true, log: () => {}, dataRoot: dir })).toBe(folder);
  });

  it('refuses a file whose MD5 is not the published one, keeping nothing (not even the data folder it created)', async () => {
    const dir = freshDir();
    const e = await downloadDataset('mnist', { dir, url: `${base}/mnist/`, ...quiet }).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as Error).message).toMatch(new RegExp(`train-images-idx3-ubyte\\.gz: MD5 mismatch: got [0-9a-f]{32}, expected ${DATASET_SOURCES.mnist.files[0].md5}`));
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(join(root, `d${n}`))).toBe(false);
    expect(existsSync(root)).toBe(true);
  });

  it('refuses files with the right MD5 but bad data, naming the file inside; a missing file is an HTTP error', async () => {
    const dir = freshDir();
    const bad = idxFiles(12);
    bad['t10k-labels-idx1-ubyte.gz'] = served.get('/badlabels/t10k-labels-idx1-ubyte.gz')!;
    const e = await downloadDataset('mnist', { dir, url: `${base}/badlabels/`, md5s: md5s(bad), ...quiet }).then(() => null, (x: unknown) => x);
    expect((e as Error).message).toMatch(/not valid MNIST data: t10k-labels-idx1-ubyte\.gz: label 0 is 12, outside 0\.\.9/);
    expect(existsSync(join(dir, 'mnist'))).toBe(false);
    expect(leftovers(dir)).toEqual([]);
    const missing = await downloadDataset('mnist', { dir, url: `${base}/nowhere/`, ...quiet }).then(() => null, (x: unknown) => x);
    expect((missing as Error).message).toMatch(/nowhere\/train-images-idx3-ubyte\.gz failed: HTTP 404/);
  });

  it('unpacks CIFAR-100 from a mirror archive into data/cifar-100, and --force replaces it', async () => {
    const dir = freshDir();
    const archive = served.get('/mirror/c100.tar.gz')!;
    const folder = await downloadDataset('cifar-100', { dir, url: `${base}/mirror/c100.tar.gz`, md5s: { 'cifar-100-binary.tar.gz': md5(archive) }, ...quiet });
    expect(folder).toBe(join(dir, 'cifar-100'));
    expect((await loadCifar100(folder)).train.count).toBe(8);
    writeFileSync(join(folder, 'extra.txt'), 'mine');
    await downloadDataset('cifar-100', { dir, url: `${base}/mirror/c100.tar.gz`, md5s: { 'cifar-100-binary.tar.gz': md5(archive) }, force: true, ...quiet });
    expect(existsSync(join(folder, 'extra.txt'))).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  });

  it('CIFAR-100 from a local archive (--from), the same checks as a download; IDX files cannot come --from one', async () => {
    const dir = freshDir();
    const archive = join(root, 'local-c100.tar.gz');
    writeFileSync(archive, served.get('/mirror/c100.tar.gz')!);
    const folder = await downloadDataset('cifar-100', { dir, from: archive, md5: md5(readFileSync(archive)), ...quiet });
    expect((await loadCifar100(folder)).test.count).toBe(4);
    expect(existsSync(archive)).toBe(true);
    const bad = await downloadDataset('cifar-100', { dir: freshDir(), from: archive, ...quiet }).then(() => null, (x: unknown) => x);
    expect((bad as Error).message).toMatch(/local-c100\.tar\.gz: MD5 mismatch: .*the published archive is 168,513,733 bytes/);
    const idx = await downloadDataset('mnist', { dir: freshDir(), from: archive, ...quiet }).then(() => null, (x: unknown) => x);
    expect((idx as Error).message).toMatch(/--from: mnist is 4 files, not one archive/);
  });

  it('a refused connection for IDX files points to --data, not to --from', async () => {
    const e = await downloadDataset('mnist', { dir: freshDir(), url: 'http://127.0.0.1:1/mnist/', ...quiet }).then(() => null, (x: unknown) => x);
    expect((e as Error).message).toMatch(/download of http:\/\/127\.0\.0\.1:1\/mnist\/train-images-idx3-ubyte\.gz failed: .*give their folder to train with --data/);
    expect((e as Error).message).not.toContain('--from');
  });

  it('the CLI takes the name, checks the published MD5s, and fails with exit 2 and one line, leaving nothing', async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    const r = await runCli(['download', 'mnist', '--dir', dir, '--url', `${base}/mnist/`]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/train-images-idx3-ubyte\.gz: MD5 mismatch/);
    expect(readdirSync(dir)).toEqual([]);
    const unknown = await runCli(['download', 'imagenet', '--dir', dir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown data set "imagenet"; choose one of cifar-10, mnist, fashion-mnist, cifar-100/);
    const md5Opt = await runCli(['download', 'fashion-mnist', '--dir', dir, '--md5', 'abc']);
    expect(md5Opt.code).toBe(2);
    expect(md5Opt.stderr).toMatch(/--md5: fashion-mnist is 4 files/);
  });
});
