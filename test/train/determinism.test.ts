import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultOptimizerOptions } from '../../src/nn/optimizers.js';
import { parseSnapshot } from '../../src/nn/snapshot.js';
import { nativeKernels } from '../../src/tensor/native.js';
import { tempDir } from '../data/fixtures.js';
import { smallCifar, smallConfig, trainSmall } from '../helpers/train.js';
import { withKernels } from '../helpers/kernels.js';

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('training on worker threads', () => {
  const data = smallCifar();

  it('gives bit-identical weights with 1 and 3 workers from the same seed', async () => {
    const config = smallConfig(data);
    const one = await trainSmall(config, { workers: 1 });
    const three = await trainSmall(config, { workers: 3 });
    expect(one.epochsCompleted).toBe(2);
    // Training moved the weights, and both runs moved them identically.
    expect(bits(one.params).equals(bits(three.params))).toBe(true);
    expect(one.records.map((r) => r.trainLoss)).toEqual(three.records.map((r) => r.trainLoss));
    expect(one.records.map((r) => r.testAccuracy)).toEqual(three.records.map((r) => r.testAccuracy));
    // A different seed gives different weights (the comparison above is not vacuous).
    const other = await trainSmall(smallConfig(data, { seed: 8 }), { workers: 1 });
    expect(bits(one.params).equals(bits(other.params))).toBe(false);
  });

  // 3x3 convolutions of 8 and 16 channels on 32x32 and 16x16 planes take the Winograd F(4x4) kernels,
  // native (AVX2) when built, else wasm: the same kernels in every worker, so any worker count agrees.
  const WINOGRAD_SPEC = [
    { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 },
    { type: 'conv', sx: 3, filters: 8, stride: 1, pad: 1, activation: 'relu' },
    { type: 'conv', sx: 3, filters: 8, stride: 1, pad: 1, activation: 'relu' },
    { type: 'pool', sx: 2, stride: 2 },
    { type: 'conv', sx: 3, filters: 16, stride: 1, pad: 1, activation: 'relu' },
    { type: 'softmax', num_classes: 10 },
  ];
  for (const kernels of [...(nativeKernels() ? ['native'] : []), 'wasm']) {
    it(`gives bit-identical weights with 1 and 2 workers through the Winograd kernels (CNNVIZ_KERNELS=${kernels})`, async () => {
      await withKernels(kernels, async () => {
        const config = smallConfig(data, { epochs: 1 });
        const one = await trainSmall(config, { workers: 1, spec: WINOGRAD_SPEC });
        const two = await trainSmall(config, { workers: 2, spec: WINOGRAD_SPEC });
        expect(bits(one.params).equals(bits(two.params))).toBe(true);
        expect(one.records.map((r) => r.trainLoss)).toEqual(two.records.map((r) => r.trainLoss));
      });
    });
  }

  it('resumes from an end-of-epoch checkpoint and from a Ctrl-C checkpoint to the same weights', async () => {
    const config = smallConfig(data, { epochs: 3 });
    const straight = await trainSmall(config, { workers: 2 });

    // Stop after epoch 1 (end-of-epoch checkpoint), then resume.
    const out1 = tempDir('cnnviz-resume-');
    const first = await trainSmall({ ...config, epochs: 1 }, { workers: 2, out: out1 });
    expect(first.status).toBe('completed');
    const snap1 = parseSnapshot(JSON.parse(readFileSync(first.lastCheckpoint!, 'utf8')) as Record<string, unknown>, first.lastCheckpoint!);
    const resumed = await trainSmall(config, { workers: 1, out: out1, resume: snap1 });
    expect(bits(resumed.params).equals(bits(straight.params))).toBe(true);

    // Interrupt in the middle of epoch 2 (after 6 batches: 4 per epoch), then resume.
    const out2 = tempDir('cnnviz-resume-');
    const cut = await trainSmall(config, { workers: 2, out: out2, interruptAfterBatches: 6 });
    expect(cut.status).toBe('interrupted');
    expect(cut.lastCheckpoint).toMatch(/epoch-001-interrupted\.json$/);
    const snap2 = parseSnapshot(JSON.parse(readFileSync(cut.lastCheckpoint!, 'utf8')) as Record<string, unknown>, cut.lastCheckpoint!);
    const resumed2 = await trainSmall(config, { workers: 3, out: out2, resume: snap2 });
    expect(bits(resumed2.params).equals(bits(straight.params))).toBe(true);
    expect(resumed2.records.map((r) => r.trainLoss)).toEqual(straight.records.map((r) => r.trainLoss));
    // The interrupted epoch's layer health (per-step averages and the trace) comes out the same too.
    expect(straight.records[1].health?.layers.some((l) => l.gradNorm !== undefined)).toBe(true);
    expect(resumed2.records[1].health).toEqual(straight.records[1].health);
  });

  it('resumes exactly mid-schedule (onecycle with warm-up, label smoothing, nesterov with weight decay) and records each epoch\'s rate', async () => {
    const config = smallConfig(data, {
      epochs: 3, optimizer: { ...defaultOptimizerOptions('nesterov'), learningRate: 0.05, l2Decay: 0, weightDecay: 5e-4 },
      lrSchedule: { kind: 'onecycle', warmupEpochs: 1, stepFactor: 0.1 }, labelSmoothing: 0.1,
    });
    const straight = await trainSmall(config, { workers: 2 });
    const rates = straight.records.map((r) => r.learningRate);
    // 4 steps per epoch: epoch 1's last step is 3/4 of the way up the warm-up's half cosine from lr/25 to lr.
    expect(rates[0]).toBeCloseTo(0.05 + ((0.05 / 25 - 0.05) * (1 + Math.cos(Math.PI * (3 / 4)))) / 2, 10);
    expect(rates[1]).toBeLessThan(0.05);
    expect(rates[2]).toBeLessThan(rates[1]);
    const out = tempDir('cnnviz-resume-');
    const cut = await trainSmall(config, { workers: 1, out, interruptAfterBatches: 6 });
    expect(cut.status).toBe('interrupted');
    const snap = parseSnapshot(JSON.parse(readFileSync(cut.lastCheckpoint!, 'utf8')) as Record<string, unknown>, cut.lastCheckpoint!);
    const resumed = await trainSmall(config, { workers: 3, out, resume: snap });
    expect(bits(resumed.params).equals(bits(straight.params))).toBe(true);
    expect(resumed.records.map((r) => r.learningRate)).toEqual(rates);
    // The schedule matters: a constant rate ends elsewhere.
    const constant = await trainSmall({ ...config, lrSchedule: undefined }, { workers: 2 });
    expect(bits(constant.params).equals(bits(straight.params))).toBe(false);
  });
});
