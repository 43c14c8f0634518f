/**
 * Tests run the TypeScript sources, but worker threads run the compiled dist/ (src/parallel/pool.ts):
 * a dist/ older than its sources would test old worker code. staleDist lists the sources newer than
 * their compiled files; the global setup (test/global-setup.ts) rebuilds dist/ when there are any.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** Sources under root/src newer than (or missing from) root/dist: X.ts -> X.js, the wasm kernels' sources -> kernels.wasm. */
export function staleDist(root: string): string[] {
  const src = join(root, 'src');
  const dist = join(root, 'dist');
  const stale: string[] = [];
  for (const f of walk(src)) {
    if (!f.endsWith('.ts') || f.endsWith('.d.ts')) continue;
    const rel = relative(src, f);
    const out = rel.startsWith(join('tensor', 'wasm')) ? join(dist, 'tensor', 'wasm', 'kernels.wasm') : join(dist, rel.replace(/\.ts$/, '.js'));
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(f).mtimeMs) stale.push(rel);
  }
  return stale;
}
