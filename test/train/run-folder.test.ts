import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claimRunFolder, FILE_LIST, LOCK_FILE, parseLock, processStartTime, resumeFolder } from '../../src/train/run-folder.js';
import { writeFileAtomic } from '../../src/util/atomic-write.js';
import { UserError } from '../../src/util/errors.js';
import { tempDir } from '../data/fixtures.js';

const opts = { what: '--out', overwrite: false };

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

describe('run folders', () => {
  it('claims a new or empty folder, and releases the lock', () => {
    const dir = join(tempDir('cnnviz-rf-'), 'run');
    const f = claimRunFolder(dir, opts);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
    f.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a non-empty folder; --overwrite removes the files the previous run listed but not other files', async () => {
    const dir = tempDir('cnnviz-rf-');
    const f = claimRunFolder(dir, opts);
    await writeFileAtomic(join(dir, 'run.json'), '{}');
    await writeFileAtomic(join(dir, 'checkpoints', 'epoch-001.json'), '{}');
    await writeFileAtomic(join(dir, 'epoch-001', '01-conv', 'weights.png'), 'png');
    f.release();
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    writeFileSync(join(dir, 'epoch-001', 'mine.txt'), 'mine');
    expect(() => claimRunFolder(dir, opts)).toThrow(/the folder is not empty .*pass --overwrite/);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    claimRunFolder(dir, { ...opts, overwrite: true }).release();
    // The run's files and the folders they leave empty are gone; epoch-001 keeps the user's file.
    expect(readdirSync(dir).sort()).toEqual(['epoch-001', 'notes.txt']);
    expect(readdirSync(join(dir, 'epoch-001'))).toEqual(['mine.txt']);
  });

  it('item 1: --overwrite never removes files no run listed, whatever their names; a folder without a run is refused', () => {
    const dir = tempDir('cnnviz-rf-');
    mkdirSync(join(dir, 'report-drafts'));
    mkdirSync(join(dir, 'plots'));
    mkdirSync(join(dir, 'checkpoints'));
    writeFileSync(join(dir, 'report-drafts', 'ch1.docx'), 't');
    writeFileSync(join(dir, 'notes.html'), 'n');
    writeFileSync(join(dir, 'work.tmp'), 'k');
    writeFileSync(join(dir, 'checkpoints', 'mine.json'), 'c');
    const before = readdirSync(dir).sort();
    expect(() => claimRunFolder(dir, { ...opts, overwrite: true })).toThrow(/the folder is not empty \(5 entries.*\) and holds no cnnviz run/);
    expect(readdirSync(dir).sort()).toEqual(before);
    expect(readFileSync(join(dir, 'report-drafts', 'ch1.docx'), 'utf8')).toBe('t');
    // A run of an older cnnviz (run.json, no list): refused too, saying why.
    writeFileSync(join(dir, 'run.json'), '{}');
    expect(() => claimRunFolder(dir, { ...opts, overwrite: true })).toThrow(/older cnnviz that did not list its files/);
    expect(existsSync(join(dir, 'run.json'))).toBe(true);
  });

  it('item 1: a damaged or hostile file list never removes anything outside the folder or through a link', () => {
    const base = tempDir('cnnviz-rf-');
    const dir = join(base, 'run');
    const elsewhere = join(base, 'elsewhere');
    mkdirSync(dir);
    mkdirSync(elsewhere);
    writeFileSync(join(base, 'victim.txt'), 'v');
    writeFileSync(join(elsewhere, 'victim.txt'), 'v');
    symlinkSync(elsewhere, join(dir, 'linked'));
    writeFileSync(join(dir, 'run.json'), '{}');
    writeFileSync(join(dir, FILE_LIST), ['"run.json"', '"../victim.txt"', JSON.stringify(join(base, 'victim.txt')), '"linked/victim.txt"', '"linked"', 'not json', '"./run.json"', `"${LOCK_FILE}"`, ''].join('\n'));
    const f = claimRunFolder(dir, { ...opts, overwrite: true });
    // Its own lock is not removed through the list.
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
    f.release();
    expect(existsSync(join(base, 'victim.txt'))).toBe(true);
    expect(existsSync(join(elsewhere, 'victim.txt'))).toBe(true);
    expect(existsSync(join(dir, 'run.json'))).toBe(false);
    // "linked" was listed as a file: the link itself goes, never what it points to.
    expect(existsSync(elsewhere)).toBe(true);
  });

  it('item 4: a write through a symlinked folder inside the run folder is refused', async () => {
    const base = tempDir('cnnviz-rf-');
    const dir = join(base, 'run');
    mkdirSync(join(base, 'elsewhere'));
    mkdirSync(dir);
    const f = claimRunFolder(dir, opts);
    try {
      symlinkSync(join(base, 'elsewhere'), join(dir, 'epoch-001'));
      await expect(writeFileAtomic(join(dir, 'epoch-001', 'epoch.json'), '{}')).rejects.toThrow(/symbolic link .*never writes through links/);
      expect(readdirSync(join(base, 'elsewhere'))).toEqual([]);
      // A symlink at a file's own name is replaced by the rename, not written through.
      writeFileSync(join(base, 'target.txt'), 'keep');
      symlinkSync(join(base, 'target.txt'), join(dir, 'run.json'));
      await writeFileAtomic(join(dir, 'run.json'), '{}');
      expect(readFileSync(join(base, 'target.txt'), 'utf8')).toBe('keep');
      expect(lstatSync(join(dir, 'run.json')).isFile()).toBe(true);
    } finally {
      f.release();
    }
  });

  it('item 15: taking the lock removes the temp files a killed run left in the folders it wrote', async () => {
    const dir = tempDir('cnnviz-rf-');
    const f = claimRunFolder(dir, opts);
    await writeFileAtomic(join(dir, 'run.json'), '{}');
    await writeFileAtomic(join(dir, 'epoch-001', '07-conv', 'stats.json'), '{}');
    f.release();
    // As SIGKILL leaves them: pid of a process that no longer exists.
    const dead = await deadPid();
    const left = [join(dir, 'epoch-001', '07-conv', `.stats.json.${dead}.3.tmp`), join(dir, `.run.json.${dead}.1.tmp`)];
    for (const t of left) writeFileSync(t, 'half');
    writeFileSync(join(dir, 'epoch-001', `.mine.${process.pid}.1.tmp`), 'live');
    claimRunFolder(dir, { ...opts, resuming: dir }).release();
    for (const t of left) expect(existsSync(t)).toBe(false);
    expect(existsSync(join(dir, 'epoch-001', '07-conv', 'stats.json'))).toBe(true);
    expect(existsSync(join(dir, 'epoch-001', `.mine.${process.pid}.1.tmp`))).toBe(true);
  });

  it('a folder being resumed is not overwritten', () => {
    const dir = tempDir('cnnviz-rf-');
    writeFileSync(join(dir, 'run.json'), '{}');
    claimRunFolder(dir, { ...opts, resuming: dir }).release();
    expect(readdirSync(dir)).toEqual(['run.json']);
  });

  it('a second claim while a live process holds the lock fails; a dead holder is taken over', async () => {
    const dir = tempDir('cnnviz-rf-');
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const pid = holder.pid!;
      writeFileSync(join(dir, LOCK_FILE), `${JSON.stringify({ pid, start: processStartTime(pid) })}\n`);
      expect(() => claimRunFolder(dir, opts)).toThrow(new RegExp(`another cnnviz run \\(pid ${pid}\\) is writing there.*delete .*\\.cnnviz\\.lock`));
    } finally {
      holder.kill();
      await new Promise((r) => holder.once('exit', r));
    }
    // Now the holder is gone: its lock is stale.
    claimRunFolder(dir, opts).release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('item 16: a lock whose pid now belongs to another process is stale (start time, boot id, or not cnnviz)', async () => {
    const dir = tempDir('cnnviz-rf-');
    const lock = join(dir, LOCK_FILE);
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const pid = other.pid!;
      const start = processStartTime(pid)!;
      expect(start).toBeGreaterThan(0);
      // Same pid, another start time: the pid was reused.
      writeFileSync(lock, JSON.stringify({ pid, start: start - 1 }));
      claimRunFolder(dir, opts).release();
      // Taken before the last boot.
      writeFileSync(lock, JSON.stringify({ pid, start, boot: '00000000-0000-0000-0000-000000000000' }));
      claimRunFolder(dir, opts).release();
      // An older lock, or one written by hand (`echo 1 > .cnnviz.lock`): a bare pid of a live process that is not cnnviz.
      writeFileSync(lock, `${pid}\n`);
      claimRunFolder(dir, opts).release();
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      other.kill();
      await new Promise((r) => other.once('exit', r));
    }
  });

  it('item 16: the lock records pid, start time and boot id', () => {
    const dir = tempDir('cnnviz-rf-');
    const f = claimRunFolder(dir, opts);
    const held = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as { pid: number; start: number; boot: string };
    f.release();
    expect(held.pid).toBe(process.pid);
    expect(held.start).toBe(processStartTime(process.pid));
    expect(held.boot).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(parseLock('123\n')).toEqual({ pid: 123 });
    expect(parseLock('{"pid":"x"}')).toBeUndefined();
  });

  it('item 8: a lock that is a folder or a dangling symlink is one clear line (exit 2), not a crash', () => {
    const dir = tempDir('cnnviz-rf-');
    mkdirSync(join(dir, LOCK_FILE));
    expect(() => claimRunFolder(dir, opts)).toThrow(UserError);
    expect(() => claimRunFolder(dir, opts)).toThrow(/\.cnnviz\.lock is a folder, not a cnnviz lock file; if no cnnviz run is writing there, delete/);
    const dir2 = tempDir('cnnviz-rf-');
    symlinkSync(join(dir2, 'nowhere'), join(dir2, LOCK_FILE));
    expect(() => claimRunFolder(dir2, opts)).toThrow(/\.cnnviz\.lock is a symbolic link to nothing, not a cnnviz lock file/);
    expect(existsSync(join(dir2, 'nowhere'))).toBe(false);
  });

  it('--resume continues in the checkpoint\'s run folder only when it has run.json', () => {
    const run = tempDir('cnnviz-rf-');
    mkdirSync(join(run, 'checkpoints'));
    writeFileSync(join(run, 'run.json'), '{}');
    expect(resumeFolder(join(run, 'checkpoints', 'epoch-001.json'))).toBe(run);
    const loose = join(tempDir('cnnviz-rf-'), 'sub');
    mkdirSync(loose);
    expect(() => resumeFolder(join(loose, 'ck.json'))).toThrow(/not inside a run folder .*--out <dir>/);
  });
});
