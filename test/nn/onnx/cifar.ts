/** The first records of the real CIFAR-10 test split, when CIFAR10_DIR points to it (else null). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fillLookupTable, type Preprocessing } from '../../../src/data/preprocess.js';

export function readCifarTestImages(pre: Preprocessing, count: number): { batch: Float32Array; n: number } | null {
  const dir = process.env.CIFAR10_DIR;
  const file = dir ? join(dir, 'test_batch.bin') : '';
  if (!dir || !existsSync(file)) return null;
  const bytes = readFileSync(file).subarray(0, count * 3073);
  const n = Math.floor(bytes.length / 3073);
  const lut = new Float32Array(768);
  fillLookupTable(pre, lut);
  const batch = new Float32Array(n * 3072);
  for (let i = 0; i < n; i++) for (let k = 0; k < 3072; k++) batch[i * 3072 + k] = lut[(k >> 10) * 256 + bytes[i * 3073 + 1 + k]];
  return { batch, n };
}
