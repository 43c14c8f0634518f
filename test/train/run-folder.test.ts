import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claimRunFolder, LOCK_FILE, resumeFolder } from '../../src/train/run-folder.js';
import { tempDir } from '../data/fixtures.js';

const opts = { what: '--out', overwrite: false };

describe('run folders', () => {
  it('claims a new or empty folder, and releases the lock', () => {
    const dir = join(tempDir('cnnviz-rf-'), 'run');
    const f = claimRunFolder(dir, opts);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
    f.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a non-empty folder; --overwrite removes the previous run but not other files', () => {
    const dir = tempDir('cnnviz-rf-');
    writeFileSync(join(dir, 'run.json'), '{}');
    mkdirSync(join(dir, 'checkpoints'));
    mkdirSync(join(dir, 'epoch-001'));
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    expect(() => claimRunFolder(dir, opts)).toThrow(/the folder is not empty .*pass --overwrite/);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    claimRunFolder(dir, { ...opts, overwrite: true }).release();
    expect(readdirSync(dir)).toEqual(['notes.txt']);
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
      writeFileSync(join(dir, LOCK_FILE), `${holder.pid}\n`);
      expect(() => claimRunFolder(dir, opts)).toThrow(new RegExp(`another cnnviz run \\(pid ${holder.pid}\\) is writing there`));
    } finally {
      holder.kill();
      await new Promise((r) => holder.once('exit', r));
    }
    // Now the holder is gone: its lock is stale.
    claimRunFolder(dir, opts).release();
    expect(readdirSync(dir)).toEqual([]);
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
