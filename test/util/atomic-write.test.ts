import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ensureWritableDir, makeDirs, removeStaleTemps, writeFileAtomic, writeFileAtomicSync } from '../../src/util/atomic-write.js';
import { UserError } from '../../src/util/errors.js';
import { tempDir } from '../data/fixtures.js';

describe('makeDirs', () => {
  it('creates missing parents one level at a time', () => {
    const d = join(tempDir('cnnviz-aw-'), 'a', 'b', 'c');
    makeDirs(d);
    expect(existsSync(d)).toBe(true);
    makeDirs(d);
  });

  it('fails at once under /proc, where a recursive mkdir loops forever', () => {
    expect(() => makeDirs('/proc/cnnviz-test/a/b')).toThrow(/ENOENT/);
  });

  it('fails with ENOTDIR when a file is in the way', () => {
    const f = join(tempDir('cnnviz-aw-'), 'file');
    writeFileSync(f, 'x');
    expect(() => makeDirs(join(f, 'sub'))).toThrow(/ENOTDIR|is a file, not a folder/);
  });
});

describe('writeFileAtomic', () => {
  it('writes, and on failure throws one line naming the path and leaves no temp file', async () => {
    const dir = tempDir('cnnviz-aw-');
    await writeFileAtomic(join(dir, 'ok.txt'), 'hello');
    expect(readFileSync(join(dir, 'ok.txt'), 'utf8')).toBe('hello');
    // Renaming over a non-empty folder fails after the temp file was written.
    mkdirSync(join(dir, 'taken', 'inner'), { recursive: true });
    const e = await writeFileAtomic(join(dir, 'taken'), 'data').then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as Error).message).toMatch(new RegExp(`^${join(dir, 'taken')}: cannot write: `));
    expect((e as Error).message).not.toContain('\n');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(() => writeFileAtomicSync(join(dir, 'taken'), 'data')).toThrow(UserError);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a full disk (injected ENOSPC) gives one line and no temp file', async () => {
    const dir = tempDir('cnnviz-aw-');
    vi.stubEnv('CNNVIZ_TEST_DISK_FULL_AFTER', '150');
    vi.resetModules();
    try {
      const aw = await import('../../src/util/atomic-write.js');
      await aw.writeFileAtomic(join(dir, 'a.bin'), new Uint8Array(100));
      const e = await aw.writeFileAtomic(join(dir, 'b.bin'), new Uint8Array(100)).then(() => null, (x: unknown) => x);
      expect((e as Error).message).toBe(`${join(dir, 'b.bin')}: cannot write: no space left on the device (ENOSPC)`);
      expect(readdirSync(dir).sort()).toEqual(['a.bin']);
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });

  it('removes stale temp files of processes that no longer exist', () => {
    const dir = tempDir('cnnviz-aw-');
    // A dead process's temp (pid 2^22+1 is above the usual pid_max) and an unrelated dot file.
    writeFileSync(join(dir, '.epoch-001.json.4194305.3.tmp'), 'half');
    writeFileSync(join(dir, '.keep'), 'x');
    removeStaleTemps(dir);
    expect(readdirSync(dir)).toEqual(['.keep']);
  });
});

describe('ensureWritableDir', () => {
  it('one line naming the option and folder', () => {
    const f = join(tempDir('cnnviz-aw-'), 'file');
    writeFileSync(f, 'x');
    expect(() => ensureWritableDir(f, '--out')).toThrow(new RegExp(`^--out ${f}: cannot write there: `));
    expect(() => ensureWritableDir('/proc/cnnviz-x', '--out')).toThrow(/--out \/proc\/cnnviz-x: cannot write there/);
  });
});

describe('item 4: temp files never follow a link planted at their name', () => {
  it('a symlink at the next temp name is not written through', async () => {
    const dir = tempDir('cnnviz-aw-link-');
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'precious');
    // The names the writer will use next: .<name>.<pid>.<n>.tmp for the next few counters.
    for (let k = 1; k < 5000; k++) symlinkSync(victim, join(dir, `.out.txt.${process.pid}.${k}.tmp`));
    await expect(writeFileAtomic(join(dir, 'out.txt'), 'new')).rejects.toThrow(/out\.txt: cannot write: a file is in the way/);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
  });
});
