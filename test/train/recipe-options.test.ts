/**
 * --ema, --tta and --holdout in the trainer: the same numbers for any --workers, a resumed weight
 * average equal to an uninterrupted one, and a held-back split that is really not trained on.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSnapshot, type Snapshot } from '../../src/nn/snapshot.js';
import { emaDecayAt, WeightAverage } from '../../src/train/ema.js';
import { tempDir } from '../data/fixtures.js';
import { smallCifar, smallConfig, trainSmall } from '../helpers/train.js';

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const load = (path: string): Snapshot => parseSnapshot(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>, path);

describe('weight average (--ema)', () => {
  it('starts at the weights, follows them closely at first and settles at the decay', () => {
    expect(emaDecayAt(0.999, 0)).toBeCloseTo(0.1, 12);
    expect(emaDecayAt(0.999, 10)).toBeCloseTo(11 / 20, 12);
    expect(emaDecayAt(0.999, 1e6)).toBe(0.999);
    const avg = new WeightAverage(0.5, Float32Array.of(1, 2), Float32Array.of(4));
    avg.update(Float32Array.of(3, 2), Float32Array.of(0)); // decay 0.1
    expect([...avg.params]).toEqual([Math.fround(0.1 * 1 + 0.9 * 3), 2]);
    expect([...avg.state]).toEqual([Math.fround(0.1 * 4)]);
    avg.update(Float32Array.of(3, 2), Float32Array.of(0)); // decay 2/11
    expect(avg.params[0]).toBeCloseTo((2 / 11) * 2.8 + (9 / 11) * 3, 6);
    expect(avg.updates).toBe(2);
  });
});

describe('--ema, --tta flip and --holdout in training', () => {
  const data = smallCifar();

  it('report the same figures and weights for 1 and 3 workers, with validation accuracy per epoch', async () => {
    const config = smallConfig(data, { ema: 0.9, tta: 'flip', holdout: 12 });
    const out = tempDir('cnnviz-recipe-');
    const one = await trainSmall(config, { workers: 1, out });
    const three = await trainSmall(config, { workers: 3 });
    expect(bits(one.params).equals(bits(three.params))).toBe(true);
    expect(three.records).toEqual(one.records.map((r) => ({ ...r, ...timings(three.records[r.epoch - 1]) })));
    for (const r of one.records) {
      expect(r.trainImages).toBe(48);
      expect(r.valAccuracy).toBeGreaterThanOrEqual(0);
      expect(r.valLoss).toBeGreaterThan(0);
      expect(r.evaluatedWith).toBe('weight average (ema 0.9); flip test-time augmentation');
    }
    const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').split('\n');
    expect(csv[0]).toContain('valAccuracy,valLoss,evaluatedWith');
    expect(csv[1]).toContain(String(one.records[0].valAccuracy));
    // The averaged weights are in the checkpoint, and differ from the trained ones.
    const snap = load(one.lastCheckpoint!);
    expect(snap.average?.params.length).toBe(one.params.length);
    expect(bits(snap.average!.params).equals(bits(one.params))).toBe(false);
    // The average is what was evaluated: the test loss differs from a run without it.
    const plain = await trainSmall({ ...config, ema: undefined }, { workers: 2 });
    expect(bits(plain.params).equals(bits(one.params))).toBe(true);
    expect(plain.records[1].testLoss).not.toBe(one.records[1].testLoss);
  });

  it('trains on the first images only: --holdout 12 of 60 reaches the weights of --train-limit 48', async () => {
    const held = await trainSmall(smallConfig(data, { holdout: 12 }), { workers: 2 });
    const limited = await trainSmall(smallConfig(data, { trainLimit: 48 }), { workers: 2 });
    expect(bits(held.params).equals(bits(limited.params))).toBe(true);
    expect(limited.records[0].valAccuracy).toBeUndefined();
    // Holding back other images changes the training.
    const other = await trainSmall(smallConfig(data, { holdout: 20 }), { workers: 2 });
    expect(bits(other.params).equals(bits(held.params))).toBe(false);
  });

  it('a resumed run continues the average exactly (Ctrl-C mid-epoch, resumed with other --workers)', async () => {
    const config = smallConfig(data, { epochs: 3, ema: 0.95, tta: 'flip' });
    const straight = await trainSmall(config, { workers: 2, out: tempDir('cnnviz-recipe-') });
    const out = tempDir('cnnviz-recipe-');
    const cut = await trainSmall(config, { workers: 1, out, interruptAfterBatches: 6 });
    expect(cut.status).toBe('interrupted');
    const resumed = await trainSmall(config, { workers: 3, out, resume: load(cut.lastCheckpoint!) });
    expect(bits(resumed.params).equals(bits(straight.params))).toBe(true);
    const a = load(straight.lastCheckpoint!).average!;
    const b = load(resumed.lastCheckpoint!).average!;
    expect(bits(b.params).equals(bits(a.params))).toBe(true);
    expect(bits(b.state).equals(bits(a.state))).toBe(true);
    expect(resumed.records.map((r) => r.testLoss)).toEqual(straight.records.map((r) => r.testLoss));
    // Without the saved average the resumed run would restart it from the weights: not the same.
    const restarted = await trainSmall(config, { workers: 3, out: tempDir('cnnviz-recipe-'), resume: { ...load(cut.lastCheckpoint!), average: undefined } });
    expect(restarted.records[2].testLoss).not.toBe(straight.records[2].testLoss);
  });
});

/** The fields of a record that are wall-clock times (differ between any two runs). */
function timings(r: { seconds: number; trainSeconds: number; evalSeconds: number; vizSeconds: number; imagesPerSecond: number }) {
  return { seconds: r.seconds, trainSeconds: r.trainSeconds, evalSeconds: r.evalSeconds, vizSeconds: r.vizSeconds, imagesPerSecond: r.imagesPerSecond };
}
