/**
 * The output folder of a training run, claimed before anything is written into it:
 * - a lock file (`.cnnviz.lock`, created exclusively, holding the pid) so a second run into the same
 *   folder at the same time fails with exit 2 instead of mixing files; a lock left by a process that
 *   no longer exists is taken over; the lock is removed when the process exits, however it exits;
 * - a folder that already holds files is refused unless it is the run being resumed, or `--overwrite`
 *   is given (then the files of the previous run are removed first, so nothing of it is mixed in;
 *   files that cnnviz does not write are left alone).
 * - the folder a `--resume` continues in: the checkpoint's run folder only when it is one (run.json).
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ensureWritableDir, ioReason, pidAlive } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';

export const LOCK_FILE = '.cnnviz.lock';

/** What a run writes at the top of its folder (see the README's output folder). */
const RUN_OUTPUTS = [
  /^run\.json$/, /^metrics\.(jsonl|csv)$/, /^checkpoints$/, /^epoch-\d{3,}$/, /^step-\d{6,}$/, /^animations$/, /^plots$/, /^index\.html$/,
  /^viz-scale-state\.json$/, /^live\.jsonl$/, /^report/, /\.html$/, /\.tmp$/,
];

/**
 * The folder `--resume <checkpoint>` continues in when no --out is given: the run folder the
 * checkpoint sits in (`<run>/checkpoints/<file>`), but only when it is one (it has run.json).
 */
export function resumeFolder(checkpoint: string): string {
  const run = runFolderOf(checkpoint);
  if (run === undefined) {
    const dir = dirname(resolve(checkpoint));
    const where = basename(dir) === 'checkpoints' ? dirname(dir) : dir;
    throw new UserError(
      `--resume ${checkpoint}: the checkpoint is not inside a run folder (no run.json in ${where}); say where the run continues with --out <dir>`,
    );
  }
  return run;
}

/** The run folder a checkpoint sits in (`<run>/checkpoints/<file>` with `<run>/run.json`), if it is in one. */
export function runFolderOf(checkpoint: string): string | undefined {
  const dir = dirname(resolve(checkpoint));
  const run = basename(dir) === 'checkpoints' ? dirname(dir) : dir;
  return existsSync(join(run, 'run.json')) ? run : undefined;
}

export interface ClaimOptions {
  /** The option that named the folder, for messages. */
  what: string;
  /** Replace an existing run's files. */
  overwrite: boolean;
  /** The run folder of the checkpoint being resumed: writing into it is continuing, not overwriting. */
  resuming?: string;
}

export interface RunFolder {
  dir: string;
  /** Remove the lock (also done on process exit). */
  release(): void;
}

function takeLock(dir: string, what: string): () => void {
  const lock = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(lock, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new UserError(`${what} ${dir}: cannot write there: ${ioReason(e)}`);
      const pid = Number.parseInt(readFileSync(lock, 'utf8'), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
        throw new UserError(`${what} ${dir}: another cnnviz run (pid ${pid}) is writing there; wait for it or choose another folder`);
      }
      // Left by a process that died (or an unreadable lock): take it over.
      rmSync(lock, { force: true });
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      process.removeListener('exit', release);
      try {
        if (readFileSync(lock, 'utf8').trim() === String(process.pid)) rmSync(lock, { force: true });
      } catch {
        // already gone
      }
    };
    process.on('exit', release);
    return release;
  }
  throw new UserError(`${what} ${dir}: another cnnviz run is taking the folder at the same moment`);
}

/**
 * Create (if needed) and lock the run folder, then refuse it when it holds files that are not the
 * run being resumed (unless overwrite). Call after every input has been validated: this is the
 * first write of a run.
 */
export function claimRunFolder(dir: string, opts: ClaimOptions): RunFolder {
  ensureWritableDir(dir, opts.what);
  const release = takeLock(dir, opts.what);
  try {
    const resuming = opts.resuming !== undefined && resolve(opts.resuming) === resolve(dir);
    const entries = readdirSync(dir).filter((n) => n !== LOCK_FILE);
    if (entries.length > 0 && !resuming) {
      if (!opts.overwrite) {
        throw new UserError(
          `${opts.what} ${dir}: the folder is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, e.g. ${entries[0]}); ` +
            'choose a new folder, or pass --overwrite to replace the run in it',
        );
      }
      for (const name of entries) {
        if (RUN_OUTPUTS.some((re) => re.test(name))) rmSync(join(dir, name), { recursive: true, force: true });
      }
    }
    if (!statSync(dir).isDirectory()) throw new UserError(`${opts.what} ${dir}: not a folder`);
  } catch (e) {
    release();
    throw e;
  }
  return { dir, release };
}
