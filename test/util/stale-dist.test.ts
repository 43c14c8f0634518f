import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { staleDist } from '../helpers/stale-dist.js';

function file(path: string, seconds: number): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '');
  utimesSync(path, seconds, seconds);
}

describe('a stale dist/ is found before tests run its workers', () => {
  it('lists sources newer than their compiled files or without one, and the wasm kernels by kernels.wasm', () => {
    const root = mkdtempSync(join(tmpdir(), 'cnnviz-stale-'));
    file(join(root, 'src', 'parallel', 'worker.ts'), 2000);
    file(join(root, 'dist', 'parallel', 'worker.js'), 1000);
    file(join(root, 'src', 'nn', 'network.ts'), 1000);
    file(join(root, 'dist', 'nn', 'network.js'), 2000);
    file(join(root, 'src', 'nn', 'new-file.ts'), 1000);
    file(join(root, 'src', 'tensor', 'wasm', 'kernels.ts'), 3000);
    file(join(root, 'dist', 'tensor', 'wasm', 'kernels.wasm'), 2500);
    expect(staleDist(root).sort()).toEqual([join('nn', 'new-file.ts'), join('parallel', 'worker.ts'), join('tensor', 'wasm', 'kernels.ts')].sort());
    utimesSync(join(root, 'dist', 'parallel', 'worker.js'), 3000, 3000);
    utimesSync(join(root, 'dist', 'tensor', 'wasm', 'kernels.wasm'), 3000, 3000);
    file(join(root, 'dist', 'nn', 'new-file.js'), 3000);
    expect(staleDist(root)).toEqual([]);
  });

  it('the dist/ of this checkout is up to date when tests run (the global setup rebuilt it if not)', () => {
    expect(staleDist(join(import.meta.dirname, '..', '..'))).toEqual([]);
  });
});
