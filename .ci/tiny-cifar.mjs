#!/usr/bin/env node
// Writes a tiny CIFAR-10-format folder (the layout of test/data/fixtures.ts) for the packaging check:
// node tiny-cifar.mjs <dir> [trainPerFile] [testCount]
/* global process, Buffer */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, perFileArg = '8', testArg = '8'] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: tiny-cifar.mjs <dir> [trainPerFile] [testCount]\n');
  process.exit(2);
}
const names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const records = (split, first, n) => {
  const buf = Buffer.alloc(n * 3073);
  for (let i = 0; i < n; i++) {
    const r = first + i;
    const o = i * 3073;
    buf[o] = (r * 3 + (split === 'test' ? 1 : 0)) % 10;
    for (let c = 0; c < 3; c++) for (let k = 0; k < 1024; k++) buf[o + 1 + c * 1024 + k] = (r * 37 + c * 101 + k * 3 + (split === 'test' ? 13 : 0)) & 255;
  }
  return buf;
};
mkdirSync(dir, { recursive: true });
const perFile = Number(perFileArg);
for (let f = 0; f < 5; f++) writeFileSync(join(dir, `data_batch_${f + 1}.bin`), records('train', f * perFile, perFile));
writeFileSync(join(dir, 'test_batch.bin'), records('test', 0, Number(testArg)));
writeFileSync(join(dir, 'batches.meta.txt'), `${names.join('\n')}\n\n`);
