import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerDownload } from '../../src/cli/commands/download.js';
import { loadCifar10 } from '../../src/data/cifar10.js';
import { CIFAR10_ARCHIVE_BYTES, CIFAR10_MD5, DEFAULT_MAX_BYTES, MD5_ENV, URL_ENV, downloadCifar10, ensureCifar10, tarEntryProblem } from '../../src/data/download.js';
import { UserError } from '../../src/util/errors.js';
import { TEST_COUNT, cifarEntries, makeTarball, md5, rawTarGz, tempDir } from './fixtures.js';

const root = tempDir('cnnviz-dl-');
let good: { file: string; md5: string };
let goodBytes: Buffer;
let server: http.Server;
let base: string;
let n = 0;
/** Served paths (besides the redirects and the cut-off route). */
const files = new Map<string, Buffer>();

function freshDir(): string {
  n += 1;
  const d = join(root, `dl${n}`, 'data');
  mkdirSync(d, { recursive: true });
  return d;
}

const quiet = { log: () => {}, progress: 'off' as const };

async function fails(p: Promise<unknown>): Promise<UserError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).exitCode).toBe(2);
    return e as UserError;
  }
  throw new Error('expected a failure');
}

beforeAll(async () => {
  good = await makeTarball(join(root, 'cifar-10-binary.tar.gz'));
  goodBytes = readFileSync(good.file);
  files.set('/cifar-10-binary.tar.gz', goodBytes);
  server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/redirect') {
      res.writeHead(302, { location: '/hop' }).end();
    } else if (url === '/hop') {
      res.writeHead(301, { location: `${base}/cifar-10-binary.tar.gz` }).end();
    } else if (url === '/cut') {
      // Announce the whole archive, send half, then drop the connection.
      res.writeHead(200, { 'content-length': String(goodBytes.length), 'content-type': 'application/gzip' });
      res.write(goodBytes.subarray(0, Math.floor(goodBytes.length / 2)), () => {
        setTimeout(() => res.socket?.destroy(), 20);
      });
    } else if (url === '/stall') {
      // Headers, a few bytes, then silence (the connection stays open).
      res.writeHead(200, { 'content-length': String(goodBytes.length) });
      res.write(goodBytes.subarray(0, 10));
    } else if (url === '/trickle') {
      // One byte at a time, never idle for long: only a minimum rate ends it.
      res.writeHead(200, { 'content-length': String(goodBytes.length) });
      let i = 0;
      const timer = setInterval(() => res.write(goodBytes.subarray(i, ++i)), 20);
      res.on('close', () => clearInterval(timer));
    } else if (url === '/nolength') {
      // No Content-Length, and more bytes than any archive: only a size cap ends it.
      res.writeHead(200, { 'content-type': 'application/gzip' });
      let sent = 0;
      const more = (): void => {
        while (sent < 50 * goodBytes.length && res.write(goodBytes)) sent += goodBytes.length;
        if (sent < 50 * goodBytes.length) res.once('drain', more);
        else res.end();
      };
      res.on('close', () => res.removeAllListeners('drain'));
      more();
    } else if (url === '/announces-too-much') {
      res.writeHead(200, { 'content-length': String(10 * goodBytes.length) });
      res.write(goodBytes);
    } else if (files.has(url)) {
      const body = files.get(url)!;
      res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/gzip' });
      res.end(body);
    } else {
      res.writeHead(404).end('not here');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(root, { recursive: true, force: true });
});

afterEach(() => {
  vi.restoreAllMocks();
  delete process.env[URL_ENV];
});

describe('downloadCifar10 from a local http server', () => {
  it('downloads (following redirects), checks MD5, extracts, validates and installs the folder', async () => {
    const dir = freshDir();
    const logs: string[] = [];
    const progress: string[] = [];
    const folder = await downloadCifar10({
      dir,
      url: `${base}/redirect`,
      md5: good.md5,
      log: (m) => logs.push(m),
      progress: 'lines',
      progressOutput: { write: (s: string) => progress.push(s) },
    });
    expect(folder).toBe(join(dir, 'cifar-10-batches-bin'));
    // Only the data folder is left: no archive, no temp folders.
    expect(readdirSync(dir)).toEqual(['cifar-10-batches-bin']);
    const d = await loadCifar10(folder);
    expect(d.train.count).toBe(20);
    expect(d.test.count).toBe(TEST_COUNT);
    expect(existsSync(join(folder, 'readme.html'))).toBe(true);
    expect(logs.join('\n')).toMatch(/MD5 ok/);
    expect(logs.join('\n')).toMatch(/ready in .*cifar-10-batches-bin \(20 training and 7 test images\)/);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatch(/downloading: .* MB \(100%\)/);
  });

  it('takes the URL from CNNVIZ_CIFAR10_URL', async () => {
    const dir = freshDir();
    process.env[URL_ENV] = `${base}/cifar-10-binary.tar.gz`;
    await downloadCifar10({ dir, md5: good.md5, ...quiet });
    expect(readdirSync(dir)).toEqual(['cifar-10-batches-bin']);
  });

  it('checksum mismatch: error before extracting, nothing left that looks like data', async () => {
    const dir = freshDir();
    const e = await fails(downloadCifar10({ dir, url: `${base}/cifar-10-binary.tar.gz`, ...quiet }));
    expect(e.message).toMatch(/MD5 mismatch/);
    expect(e.message).toContain(`expected ${CIFAR10_MD5}`);
    expect(e.message).toContain(good.md5);
    expect(e.message).toContain('170,052,171 bytes');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a failed download removes the folders it created (no empty data/ left), not ones that were there', async () => {
    const parent = dirname(freshDir());
    const dir = join(parent, 'new', 'data');
    const e = await fails(downloadCifar10({ dir, url: `${base}/cut`, md5: good.md5, ...quiet }));
    expect(e.message).toMatch(/cut off/);
    expect(readdirSync(parent)).toEqual(['data']); // freshDir's own folder stays; new/ and new/data are gone
    const bad = await fails(downloadCifar10({ dir, from: good.file, md5: CIFAR10_MD5, ...quiet }));
    expect(bad.message).toMatch(/MD5 mismatch/);
    expect(existsSync(join(parent, 'new'))).toBe(false);
    await downloadCifar10({ dir, url: `${base}/cifar-10-binary.tar.gz`, md5: good.md5, ...quiet });
    expect(readdirSync(dir)).toEqual(['cifar-10-batches-bin']);
  });

  it('connection cut off half-way: error, nothing left', async () => {
    const dir = freshDir();
    const e = await fails(downloadCifar10({ dir, url: `${base}/cut`, md5: good.md5, ...quiet }));
    expect(e.message).toMatch(/cut off after \d+ of \d+ bytes/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a stalled server: the message names the idle timeout; nothing left', async () => {
    const dir = freshDir();
    const e = await fails(downloadCifar10({ dir, url: `${base}/stall`, md5: good.md5, ...quiet, idleTimeoutMs: 300 }));
    expect(e.message).toMatch(/stopped after 10 of \d+ bytes: no data for 300 ms \(idle timeout\)/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a server that trickles bytes: the minimum rate ends it; nothing left', async () => {
    const dir = freshDir();
    const e = await fails(downloadCifar10({ dir, url: `${base}/trickle`, md5: good.md5, ...quiet, idleTimeoutMs: 5000, minBytesPerSecond: 1000, rateGraceMs: 300 }));
    expect(e.message).toMatch(/too slow: \d+ bytes in \d+ ms, below the minimum average of 1\.0 KiB\/s \(rate timeout after 300 ms\)/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a body without Content-Length is capped; an announced size above the cap is refused', async () => {
    const dir = freshDir();
    const maxBytes = 3 * goodBytes.length;
    const e = await fails(downloadCifar10({ dir, url: `${base}/nolength`, md5: good.md5, ...quiet, maxBytes }));
    expect(e.message).toMatch(/more than [\d,]+ bytes received, more than a CIFAR-10 archive can be \(size cap\)/);
    expect(readdirSync(dir)).toEqual([]);
    const big = await fails(downloadCifar10({ dir, url: `${base}/announces-too-much`, md5: good.md5, ...quiet, maxBytes }));
    expect(big.message).toMatch(/refused: the server announces [\d,]+ bytes, more than the [\d,]+ a CIFAR-10 archive can be/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('the default cap is a little above the official archive size', () => {
    expect(DEFAULT_MAX_BYTES).toBeGreaterThan(CIFAR10_ARCHIVE_BYTES);
    expect(DEFAULT_MAX_BYTES).toBeLessThan(CIFAR10_ARCHIVE_BYTES * 1.1);
  });

  it('HTTP error and refused connection: error, nothing left', async () => {
    const dir = freshDir();
    expect((await fails(downloadCifar10({ dir, url: `${base}/missing.tar.gz`, ...quiet }))).message).toMatch(/HTTP 404/);
    // a port nobody listens on (the server's port after it closed would race; use port 1)
    const e = await fails(downloadCifar10({ dir, url: 'http://127.0.0.1:1/x.tar.gz', ...quiet }));
    expect(e.message).toMatch(/download of http:\/\/127\.0\.0\.1:1\/x\.tar\.gz failed/);
    expect(e.message).toContain('--from');
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses an archive holding a '../' path and writes nothing outside (or inside)", async () => {
    const dir = freshDir();
    const evil = rawTarGz([
      ...cifarEntries(),
      { path: 'cifar-10-batches-bin/../../evil.txt', data: Buffer.from('pwned\n') },
    ]);
    files.set('/evil.tar.gz', evil);
    const e = await fails(downloadCifar10({ dir, url: `${base}/evil.tar.gz`, md5: md5(evil), ...quiet }));
    expect(e.message).toMatch(/refusing to extract/);
    expect(e.message).toContain('"cifar-10-batches-bin/../../evil.txt"');
    expect(e.message).toMatch(/'\.\.'/);
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(join(dir, '..', 'evil.txt'))).toBe(false);
    expect(existsSync(join(dir, 'evil.txt'))).toBe(false);
    expect(readdirSync(join(dir, '..'))).toEqual(['data']);
  });

  it('refuses absolute paths and links', async () => {
    const dir = freshDir();
    const abs = rawTarGz([...cifarEntries(), { path: join(root, 'abs-evil.txt'), data: Buffer.from('x') }]);
    const e = await fails(downloadCifar10({ dir, from: writeTmp('abs.tar.gz', abs), md5: md5(abs), ...quiet }));
    expect(e.message).toMatch(/has an absolute path/);
    expect(existsSync(join(root, 'abs-evil.txt'))).toBe(false);
    const link = rawTarGz([...cifarEntries(), { path: 'cifar-10-batches-bin/x', type: 'SymbolicLink', linkpath: '/etc' }]);
    expect((await fails(downloadCifar10({ dir, from: writeTmp('link.tar.gz', link), md5: md5(link), ...quiet }))).message).toMatch(
      /entry "cifar-10-batches-bin\/x" is a link/,
    );
    expect(readdirSync(dir)).toEqual([]);
    expect(tarEntryProblem('a/b.bin', 'File')).toBeNull();
    expect(tarEntryProblem('a/../../b', 'File')).toMatch(/'\.\.'/);
    expect(tarEntryProblem('C:\\x', 'File')).toMatch(/absolute/);
    expect(tarEntryProblem('..\\x', 'File')).toMatch(/'\.\.'/);
  });
});

function writeTmp(name: string, data: Buffer): string {
  const f = join(root, name);
  writeFileSync(f, data);
  return f;
}

describe('downloadCifar10 --from a local tarball', () => {
  it('installs from the file and leaves the tarball alone', async () => {
    const dir = freshDir();
    const folder = await downloadCifar10({ dir, from: good.file, md5: good.md5, ...quiet });
    expect(readdirSync(dir)).toEqual(['cifar-10-batches-bin']);
    expect((await loadCifar10(folder)).train.count).toBe(20);
    expect(existsSync(good.file)).toBe(true);
  });

  it('rejects a missing file, a bad --md5, a damaged archive and invalid data inside', async () => {
    const dir = freshDir();
    expect((await fails(downloadCifar10({ dir, from: join(root, 'nope.tgz'), ...quiet }))).message).toMatch(/nope\.tgz: file not found/);
    expect((await fails(downloadCifar10({ dir, from: good.file, md5: 'xyz', ...quiet }))).message).toMatch(/--md5: expected 32 hexadecimal/);
    const junk = writeTmp('junk.tar.gz', Buffer.from('this is not gzip at all'));
    expect((await fails(downloadCifar10({ dir, from: junk, md5: md5(readFileSync(junk)), ...quiet }))).message).toMatch(
      /junk\.tar\.gz: cannot extract/,
    );
    const truncated = await makeTarball(join(root, 'truncated.tar.gz'), (d) => {
      writeFileSync(join(d, 'data_batch_2.bin'), Buffer.alloc(3073 + 5));
    });
    const e = await fails(downloadCifar10({ dir, from: truncated.file, md5: truncated.md5, ...quiet }));
    expect(e.message).toMatch(/does not hold valid CIFAR-10 data: cifar-10-batches-bin\/data_batch_2\.bin: size 3078 bytes/);
    expect(e.message).toMatch(/truncated/);
    const empty = rawTarGz([{ path: 'other/', type: 'Directory' }, { path: 'other/readme.txt', data: Buffer.from('hi') }]);
    expect((await fails(downloadCifar10({ dir, from: writeTmp('empty.tar.gz', empty), md5: md5(empty), ...quiet }))).message).toMatch(
      /holds no cifar-10-batches-bin folder/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('finds the batches in a folder of another name (a mirror\'s packing) and installs it as cifar-10-batches-bin', async () => {
    const dir = freshDir();
    const renamed = rawTarGz(cifarEntries().map((e) => ({ ...e, path: e.path.replace('cifar-10-batches-bin', 'mirror/cifar10') })));
    const folder = await downloadCifar10({ dir, from: writeTmp('renamed.tar.gz', renamed), md5: md5(renamed), ...quiet });
    expect(folder).toBe(join(dir, 'cifar-10-batches-bin'));
    expect((await loadCifar10(folder)).test.count).toBe(TEST_COUNT);
    expect(readdirSync(dir)).toEqual(['cifar-10-batches-bin']);
  });

  it('an MD5 from CNNVIZ_CIFAR10_MD5 that is not one is named as such; --md5 wins over it', async () => {
    const dir = freshDir();
    process.env[MD5_ENV] = 'not-an-md5';
    try {
      expect((await fails(downloadCifar10({ dir, from: good.file, ...quiet }))).message).toMatch(/^\$CNNVIZ_CIFAR10_MD5: expected 32 hexadecimal digits, got "not-an-md5"/);
      await downloadCifar10({ dir, from: good.file, md5: good.md5, ...quiet });
    } finally {
      delete process.env[MD5_ENV];
    }
    expect(readdirSync(dir)).toEqual(['cifar-10-batches-bin']);
  });

  it('keeps an existing valid folder, replaces it with force, and clears stale temp files', async () => {
    const dir = freshDir();
    const folder = await downloadCifar10({ dir, from: good.file, md5: good.md5, ...quiet });
    writeFileSync(join(folder, 'marker'), 'old');
    const logs: string[] = [];
    await downloadCifar10({ dir, from: good.file, md5: good.md5, log: (m) => logs.push(m), progress: 'off' });
    expect(logs.join('\n')).toMatch(/already in/);
    expect(existsSync(join(folder, 'marker'))).toBe(true);
    // a leftover of a download whose process died
    mkdirSync(join(dir, '.cnnviz-download.999999999.abcd.extract'));
    await downloadCifar10({ dir, from: good.file, md5: good.md5, force: true, ...quiet });
    expect(existsSync(join(folder, 'marker'))).toBe(false);
    expect(readdirSync(dir)).toEqual(['cifar-10-batches-bin']);
    // an existing broken folder is reported, not silently used
    rmSync(join(folder, 'test_batch.bin'));
    expect((await fails(downloadCifar10({ dir, from: good.file, md5: good.md5, ...quiet }))).message).toMatch(
      /already exists but is not valid: .*test_batch\.bin: file missing.* Use --force/,
    );
  });
});

describe('cnnviz download (command)', () => {
  async function run(args: string[]): Promise<void> {
    const program = new Command().exitOverride();
    registerDownload(program);
    await program.parseAsync(args, { from: 'user' });
  }

  it('--from <tarball> --dir D --md5 M installs and prints the folder', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const dir = freshDir();
    await run(['download', '--from', good.file, '--dir', dir, '--md5', good.md5]);
    expect(readdirSync(dir)).toEqual(['cifar-10-batches-bin']);
    expect(out).toHaveBeenCalledWith(`${join(dir, 'cifar-10-batches-bin')}\n`);
  });

  it('--url with --md5, and --from with --url is an error', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const dir = freshDir();
    await run(['download', '--url', `${base}/cifar-10-binary.tar.gz`, '--dir', dir, '--md5', good.md5.toUpperCase()]);
    expect(readdirSync(dir)).toEqual(['cifar-10-batches-bin']);
    await expect(run(['download', '--from', good.file, '--url', base])).rejects.toThrow(/--from and --url cannot be used together/);
  });
});

describe('ensureCifar10', () => {
  it('returns --data as given, without looking', async () => {
    expect(await ensureCifar10('/some/where', { noDownload: true, log: () => {} })).toBe('/some/where');
  });

  it('missing with --no-download: says how to get it', async () => {
    const rootDir = freshDir();
    const e = await fails(ensureCifar10(undefined, { noDownload: true, log: () => {}, dataRoot: rootDir }));
    expect(e.message).toContain(join(rootDir, 'cifar-10-batches-bin'));
    expect(e.message).toMatch(/cnnviz download/);
    expect(e.message).toMatch(/--data <dir>/);
  });

  it('missing: says it downloads (with the size), downloads, then finds it', async () => {
    const rootDir = freshDir();
    const logs: string[] = [];
    const opts = { noDownload: false, log: (m: string) => logs.push(m), dataRoot: rootDir, url: `${base}/cifar-10-binary.tar.gz`, md5: good.md5, progress: 'off' as const };
    const folder = await ensureCifar10(undefined, opts);
    expect(folder).toBe(join(rootDir, 'cifar-10-batches-bin'));
    expect(logs[0]).toMatch(/not found .* downloading it first \(about 170 MB from 127\.0\.0\.1:\d+/);
    expect((await loadCifar10(folder)).train.count).toBe(20);
    logs.length = 0;
    expect(await ensureCifar10(undefined, opts)).toBe(folder);
    expect(logs).toEqual([]);
  });
});
