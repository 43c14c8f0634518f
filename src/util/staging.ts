/**
 * Installing a folder as a whole or not at all: everything is prepared under temporary names beside
 * the target (`.cnnviz-download.<pid>.<random>.*`) and renamed into place at the end. A failure, or
 * Ctrl-C / SIGTERM, removes the temporary files and the folders this created (an empty data/ would
 * look like a start); a process that died hard leaves them for the next run, which removes them.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fsp, renameSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { makeDirs, pidAlive } from './atomic-write.js';
import { UserError, errorMessage } from './errors.js';

const TEMP_PREFIX = '.cnnviz-download.';

export async function isDir(path: string): Promise<boolean> {
  try {
    return (await fsp.lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Remove temp files left in `dir` by downloads whose process no longer exists. */
async function removeStaleTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^\.cnnviz-download\.(\d+)\./.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    await fsp.rm(join(dir, name), { recursive: true, force: true });
  }
}

/** The folders makeDirs(dir) would create: `dir` and its missing ancestors, deepest first. */
function missingDirs(dir: string): string[] {
  const out: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    out.push(d);
    if (dirname(d) === d) break;
  }
  return out;
}

/** After a failed download: remove the folders it created, deepest first, each only if empty. */
function removeCreatedDirs(dirs: readonly string[]): void {
  for (const d of dirs) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (someone else wrote there) or already gone: leave it and its parents
    }
  }
}

/**
 * Ctrl-C / SIGTERM during a download: remove the temp files at once (putting a folder that --force
 * moved aside back first). If nobody else listens, die as the signal would have done; otherwise abort
 * the transfer and let the other listener decide. `release` removes the handlers.
 */
function cleanUpOnSignal(target: string, oldDir: string, temps: readonly string[], created: readonly string[]): { controller: AbortController; release(): void } {
  const controller = new AbortController();
  const release = (): void => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    // Interrupted between the two renames of --force: put the old folder back first.
    if (existsSync(oldDir) && !existsSync(target)) renameSync(oldDir, target);
    for (const t of temps) rmSync(t, { recursive: true, force: true });
    if (!existsSync(target)) removeCreatedDirs(created);
    release();
    controller.abort();
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { controller, release };
}

export interface Staging {
  /** A temporary folder (not yet created) for the fetched files. */
  files: string;
  /** A temporary folder (not yet created) to unpack into. */
  extract: string;
  /** Aborted on Ctrl-C / SIGTERM. */
  signal: AbortSignal;
  /**
   * Rename `found` to the target; with `replace`, an existing target is moved aside first and put
   * back if the rename fails. 'taken': another process installed the target meanwhile.
   */
  install(found: string, replace: boolean): Promise<'installed' | 'taken'>;
  /** Remove the temporary files, and after a failure the folders this created. */
  close(): Promise<void>;
}

/** Prepare to install `target`, a folder inside `dir` (created if missing). */
export async function openStaging(dir: string, target: string): Promise<Staging> {
  const created = missingDirs(dir);
  try {
    makeDirs(dir);
  } catch (e) {
    removeCreatedDirs(created);
    throw new UserError(`${dir}: cannot create the data folder (${errorMessage(e)})`);
  }
  await removeStaleTemps(dir);
  const base = join(dir, `${TEMP_PREFIX}${process.pid}.${randomBytes(4).toString('hex')}`);
  const files = `${base}.files`;
  const extract = `${base}.extract`;
  const oldDir = `${base}.old`;
  const temps = [files, extract, oldDir];
  const { controller, release } = cleanUpOnSignal(target, oldDir, temps, created);
  let installed = false;
  return {
    files,
    extract,
    signal: controller.signal,
    async install(found, replace) {
      if (replace && (await isDir(target))) await fsp.rename(target, oldDir);
      try {
        await fsp.rename(found, target);
      } catch (e) {
        if (await isDir(oldDir)) await fsp.rename(oldDir, target).catch(() => undefined);
        const code = (e as NodeJS.ErrnoException).code;
        if ((code === 'EEXIST' || code === 'ENOTEMPTY') && (await isDir(target))) {
          installed = true;
          return 'taken';
        }
        throw new UserError(`cannot move the downloaded data to ${target}: ${errorMessage(e)}`);
      }
      installed = true;
      return 'installed';
    },
    async close() {
      release();
      for (const t of temps) await fsp.rm(t, { recursive: true, force: true });
      if (!installed) removeCreatedDirs(created);
    },
  };
}
