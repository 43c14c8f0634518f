/**
 * Files that are not what they seem, and folders that are not cnnviz's: --overwrite removes only a
 * run's own files, visualize never replaces a run by accident, nothing is written through a symlink,
 * special files as --model/--image are one line (exit 2) instead of a hang, damaged locks and
 * checkpoints are one line, and a stale lock is taken over.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processStartTime } from '../../src/train/run-folder.js';
import { runCli } from '../helpers/cli.js';
import { expectOneLine, smallRunFixture } from '../helpers/run-fixture.js';

const { root, data, specFile, fresh } = smallRunFixture('cnnviz-hostile-');
const oneLine = expectOneLine;
const quick = ['--data', data, '--model', specFile, '--train-limit', '32', '--test-limit', '8', '--workers', '1', '--quiet', '--no-download'];

function fifo(path: string): string {
  execFileSync('mkfifo', [path]);
  return path;
}

describe('item 1: --overwrite removes only the files a run listed', () => {
  it("the issue's folder of user files is refused and left whole", async () => {
    const out = fresh();
    mkdirSync(join(out, 'report-drafts'), { recursive: true });
    mkdirSync(join(out, 'plots'));
    writeFileSync(join(out, 'report-drafts', 'ch1.docx'), 't');
    writeFileSync(join(out, 'notes.html'), 'n');
    writeFileSync(join(out, 'work.tmp'), 'k');
    const r = await runCli(['train', ...quick, '--viz', 'none', '--epochs', '1', '--overwrite', '--out', out]);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/holds no cnnviz run/);
    expect(readdirSync(out).sort()).toEqual(['notes.html', 'plots', 'report-drafts', 'work.tmp']);
    expect(readFileSync(join(out, 'report-drafts', 'ch1.docx'), 'utf8')).toBe('t');
  });

  it('replacing a run keeps files the user added beside and inside it', async () => {
    const out = fresh();
    expect((await runCli(['train', ...quick, '--epochs', '1', '--probe-count', '1', '--out', out])).code).toBe(0);
    const list = readFileSync(join(out, '.cnnviz-files'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string);
    for (const f of ['run.json', 'metrics.jsonl', 'live.jsonl', 'index.html', 'checkpoints/epoch-001.json', 'epoch-001/epoch.json']) expect(list).toContain(f);
    writeFileSync(join(out, 'notes.html'), 'mine');
    writeFileSync(join(out, 'epoch-001', 'my-notes.txt'), 'mine');
    mkdirSync(join(out, 'report-drafts'));
    writeFileSync(join(out, 'report-drafts', 'ch1.docx'), 'mine');
    const r = await runCli(['train', ...quick, '--epochs', '1', '--viz', 'none', '--overwrite', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'notes.html'), 'utf8')).toBe('mine');
    expect(readFileSync(join(out, 'report-drafts', 'ch1.docx'), 'utf8')).toBe('mine');
    expect(readdirSync(join(out, 'epoch-001'))).toEqual(['my-notes.txt']);
    expect(existsSync(join(out, 'index.html'))).toBe(false);
  });
});

describe('item 2: visualize --out refuses an existing run unless --overwrite, and honours the lock', () => {
  it('leaves a run folder alone, replaces only with --overwrite, and waits for no one', async () => {
    const out = fresh();
    expect((await runCli(['train', ...quick, '--epochs', '1', '--probe-count', '1', '--out', out])).code).toBe(0);
    const ck = join(out, 'checkpoints', 'epoch-001.json');
    const report = readFileSync(join(out, 'index.html'), 'utf8');
    const vis = ['visualize', '--model', ck, '--data', data, '--probe', '0', '--out', out];
    const r = await runCli(vis);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/--out .*: the folder is not empty .*--overwrite/);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toBe(report);
    // A run writing there (a lock naming a live process with its start time): refused even with --overwrite.
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    writeFileSync(join(out, '.cnnviz.lock'), `${JSON.stringify({ pid: holder.pid, start: processStartTime(holder.pid!) })}\n`);
    const locked = await runCli([...vis, '--overwrite']);
    holder.kill();
    expect(locked.code).toBe(2);
    expect(locked.stderr).toMatch(/another cnnviz run \(pid \d+\) is writing there/);
    // Free again: --overwrite replaces the run's files with the pictures.
    writeFileSync(join(out, '.cnnviz.lock'), '{"pid":999999999}\n');
    const over = await runCli([...vis, '--overwrite']);
    expect(over.code, over.stderr).toBe(0);
    expect(existsSync(join(out, 'checkpoints'))).toBe(false);
    expect(existsSync(join(out, 'index.html'))).toBe(true);
    expect(existsSync(join(out, '.cnnviz.lock'))).toBe(false);
  });
});

describe('item 4: --resume never appends through a symlinked live.jsonl', () => {
  it('refuses, one line, and the link target is untouched', async () => {
    const out = fresh();
    expect((await runCli(['train', ...quick, '--viz', 'none', '--epochs', '1', '--out', out])).code).toBe(0);
    const victim = `${fresh('victim-')}.txt`;
    writeFileSync(victim, 'precious\n');
    const live = join(out, 'live.jsonl');
    execFileSync('rm', [live]);
    symlinkSync(victim, live);
    const r = await runCli(['train', '--resume', join(out, 'checkpoints', 'epoch-001.json'), '--epochs', '2', '--quiet']);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/live\.jsonl: is a symbolic link; cnnviz never writes through one/);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });
});

describe('item 6: special files as --model or --image are one line, never a hang', () => {
  it('/dev/zero, a FIFO (.json, .onnx), a folder', async () => {
    const cases: [string[], RegExp][] = [
      [['summary', '--model', '/dev/zero'], /\/dev\/zero: is a character device, not a regular file/],
      [['summary', '--model', fifo(join(root, 'pipe.json'))], /pipe\.json: is a named pipe \(FIFO\), not a regular file/],
      [['summary', '--model', fifo(join(root, 'pipe.onnx'))], /pipe\.onnx: is a named pipe \(FIFO\), not a regular file/],
      [['summary', '--model', fifo(join(root, 'pipe-noext'))], /pipe-noext: is a named pipe \(FIFO\), not a regular file/],
      [['predict', '--model', specFile, '--image', fifo(join(root, 'pipe.png'))], /--image .*pipe\.png: is a named pipe \(FIFO\), not a regular file/],
      [['predict', '--model', specFile, '--image', '/dev/zero'], /--image \/dev\/zero: is a character device/],
      [['visualize', '--model', specFile, '--image', join(root, 'pipe.png'), '--out', fresh()], /--image .*pipe\.png: is a named pipe/],
      [['summary', '--model', root], /is a folder, not a regular file/],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(args, { timeoutMs: 20_000 });
      expect(r.signal, args.join(' ')).toBeNull();
      expect(r.code, args.join(' ')).toBe(2);
      // visualize first notes that a bare spec has no trained weights.
      oneLine(r.stderr.replace(/^note: .*\n/, ''));
      expect(r.stderr).toMatch(re);
    }
  });
});

describe('item 8: damage that used to be an internal error is exit 2, one line', () => {
  it('a lock that is a folder, a lock that is a dangling symlink', async () => {
    const a = fresh();
    mkdirSync(join(a, '.cnnviz.lock'), { recursive: true });
    const r1 = await runCli(['train', ...quick, '--viz', 'none', '--epochs', '1', '--out', a]);
    expect(r1.code).toBe(2);
    oneLine(r1.stderr);
    expect(r1.stderr).toMatch(/\.cnnviz\.lock is a folder, not a cnnviz lock file; if no cnnviz run is writing there, delete/);
    const b = fresh();
    mkdirSync(b);
    symlinkSync(join(b, 'nowhere'), join(b, '.cnnviz.lock'));
    const r2 = await runCli(['train', ...quick, '--viz', 'none', '--epochs', '1', '--out', b]);
    expect(r2.code).toBe(2);
    oneLine(r2.stderr);
    expect(r2.stderr).toMatch(/\.cnnviz\.lock is a symbolic link to nothing/);
  });

  it("a checkpoint whose binary.bytes is 1e15", async () => {
    const out = fresh();
    expect((await runCli(['train', ...quick, '--viz', 'none', '--epochs', '1', '--out', out])).code).toBe(0);
    const ck = join(out, 'checkpoints', 'epoch-001.json');
    const json = JSON.parse(readFileSync(ck, 'utf8')) as { binary: { bytes: number; tensors: unknown[] } };
    json.binary.bytes = 1e15;
    writeFileSync(ck, JSON.stringify(json));
    const r = await runCli(['summary', '--model', ck]);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/holds \d+ bytes, epoch-001\.json expects 1000000000000000/);
  });

  it('a checkpoint whose binary file is a FIFO', async () => {
    const out = fresh();
    expect((await runCli(['train', ...quick, '--viz', 'none', '--epochs', '1', '--out', out])).code).toBe(0);
    const dir = join(out, 'checkpoints');
    const bin = readdirSync(dir).find((f) => f.endsWith('.bin'))!;
    execFileSync('rm', [join(dir, bin)]);
    fifo(join(dir, bin));
    const r = await runCli(['summary', '--model', join(dir, 'epoch-001.json')], { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot be read: is a named pipe \(FIFO\)/);
  });
});

describe('item 16: a stale lock with a reused pid', () => {
  it('`echo 1 > .cnnviz.lock` (a live process that is not cnnviz) does not block a run', async () => {
    const out = fresh();
    mkdirSync(out);
    writeFileSync(join(out, '.cnnviz.lock'), `${process.pid}\n`);
    const r = await runCli(['train', ...quick, '--viz', 'none', '--epochs', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(out, '.cnnviz.lock'))).toBe(false);
  });
});
