/** Shared setup of the CLI tests that make many small runs: a small CIFAR-format folder and spec file. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { tempDir, writeCifarDir } from '../data/fixtures.js';
import { SMALL_SPEC } from './train.js';

/** A user-caused error is one line (no stack trace). */
export const expectOneLine = (s: string): void => expect(s.trim().split('\n'), s).toHaveLength(1);

/** A temp root holding `cifar/` (40 training and 20 test images per batch) and `small.json`; `fresh(prefix)` names a new path in it (a run folder by default). */
export function smallRunFixture(prefix: string): { root: string; data: string; specFile: string; fresh: (prefix?: string) => string } {
  const root = tempDir(prefix);
  const data = writeCifarDir(join(root, 'cifar'), [40, 40, 40, 40, 40], 20);
  const specFile = join(root, 'small.json');
  writeFileSync(specFile, JSON.stringify(SMALL_SPEC));
  let n = 0;
  return { root, data, specFile, fresh: (prefix = 'run') => join(root, `${prefix}${++n}`) };
}
