import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSnapshot } from '../../src/nn/snapshot.js';
import { tempDir } from '../data/fixtures.js';
import { smallCifar, smallConfig, trainSmall } from '../helpers/train.js';

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
  });
});
