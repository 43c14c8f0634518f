import { describe, expect, it } from 'vitest';
import { parseSpec, presetSpec } from '../../src/nn/spec.js';
import { formatSummary } from '../../src/nn/summary.js';

describe('summary: the size of the parameters', () => {
  it('in a unit that suits it (not "1064.4 KiB" or "3125937570.6 KiB")', () => {
    expect(formatSummary(presetSpec('convnetjs-cifar10'))).toMatch(/22,466 trainable parameters \(88 KiB as float32\)$/m);
    expect(formatSummary(presetSpec('resnet20'))).toMatch(/272,474 trainable parameters \(1\.0 MiB as float32\)$/m);
    const huge = parseSpec([{ type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 }, { type: 'conv', sx: 3, filters: 2, pad: 100000 }, { type: 'softmax', num_classes: 10 }], 'huge.json');
    expect(formatSummary(huge)).toMatch(/trainable parameters \(2\.9 TiB as float32\)$/m);
  });
});
