/**
 * Before any test: rebuild dist/ when a source is newer than its compiled file, so the worker threads
 * (which run dist/) never run older code than the tests (`npm test` builds first; a targeted
 * `npx vitest run test/...` after an edit would not).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { staleDist } from './helpers/stale-dist.js';

export default function setup(): void {
  const root = join(import.meta.dirname, '..');
  const stale = staleDist(root);
  if (stale.length === 0) return;
  process.stderr.write(`dist/ is older than ${stale.length} source file(s) (e.g. src/${stale[0]}): rebuilding (npm run build)\n`);
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  const still = staleDist(root);
  if (still.length > 0) throw new Error(`dist/ is still older than src/${still[0]} after npm run build`);
}
