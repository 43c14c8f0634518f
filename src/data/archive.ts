/**
 * Unpacking a data set's tar.gz safely: entries that would escape the target folder (absolute paths,
 * `..`), links and special files are refused before anything is written, and the data folder is then
 * found inside by a file it must hold.
 */
import { promises as fsp, type Stats } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { extract as tarExtract, type ReadEntry } from 'tar';
import { UserError, errorMessage } from '../util/errors.js';
import { isDir } from '../util/staging.js';

/** Why a tar entry must not be extracted, or null if it is fine. */
export function tarEntryProblem(path: string, type: string): string | null {
  const p = path.replace(/\\/g, '/');
  if (p.startsWith('/') || /^[a-zA-Z]:/.test(p) || isAbsolute(path)) return 'has an absolute path';
  if (p.split('/').includes('..')) return "has a '..' path that escapes the target folder";
  if (type === 'SymbolicLink' || type === 'Link') return 'is a link (not expected in a data set archive)';
  if (!['File', 'OldFile', 'ContiguousFile', 'Directory'].includes(type)) return `is of unsupported type ${type}`;
  return null;
}

/** Extract `archive` into `cwd`; `source` names it in messages. */
export async function extractArchive(archive: string, cwd: string, source: string): Promise<void> {
  let refused: string | null = null;
  try {
    await tarExtract({
      file: archive,
      cwd,
      strict: true,
      preservePaths: false,
      filter: (path: string, entry: ReadEntry | Stats) => {
        if (refused !== null) return false;
        const type = 'type' in entry ? String(entry.type) : 'File';
        const problem = tarEntryProblem(path, type);
        if (problem !== null) {
          refused = `entry "${path}" ${problem}`;
          return false;
        }
        return true;
      },
    });
  } catch (e) {
    if (refused === null) throw new UserError(`${source}: cannot extract the archive: ${errorMessage(e)}`);
  }
  if (refused !== null) throw new UserError(`${source}: refusing to extract: archive ${refused}`);
}

async function hasFile(dir: string, name: string): Promise<boolean> {
  try {
    return (await fsp.lstat(join(dir, name))).isFile();
  } catch {
    return false;
  }
}

/**
 * The unpacked data folder: `root/<folder>` when it exists (the reader then says what it lacks), else
 * the folder, at most 3 levels down, that holds `marker`; null when there is none.
 */
export async function findDataFolder(root: string, marker: string, folder?: string): Promise<string | null> {
  if (folder !== undefined && (await isDir(join(root, folder)))) return join(root, folder);
  const queue = [root];
  for (let depth = 0; depth < 4 && queue.length > 0; depth++) {
    for (const d of queue.splice(0)) {
      if (await hasFile(d, marker)) return d;
      for (const ent of await fsp.readdir(d, { withFileTypes: true })) if (ent.isDirectory()) queue.push(join(d, ent.name));
    }
  }
  return null;
}
