import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerLayerModule } from '../../src/nn/layers/registry.js';
import { Network } from '../../src/nn/network.js';
import { parseSnapshot } from '../../src/nn/snapshot.js';
import { parseSpec } from '../../src/nn/spec.js';
import { tempDir } from '../data/fixtures.js';
import { smallCifar, smallConfig, trainSmall } from '../helpers/train.js';

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** The small network with a state layer (teststat, test/helpers/stat-layer.js) after the first conv. */
const STATE_SPEC = [
  { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 },
  { type: 'conv', sx: 5, filters: 4, stride: 2, pad: 2 },
  { type: 'teststat' },
  { type: 'relu' },
  { type: 'pool', sx: 2, stride: 2 },
  { type: 'fc', num_neurons: 12, activation: 'tanh' },
  { type: 'softmax', num_classes: 10 },
];

beforeAll(async () => {
  await registerLayerModule(new URL('../helpers/stat-layer.js', import.meta.url).href);
});

describe('state buffers (non-trainable tensors beside the parameters)', () => {
  const data = smallCifar();

  it('lays state out in a second flat vector with its declared initial values', () => {
    const net = new Network(parseSpec(STATE_SPEC, 'state.json'));
    net.initialize(3);
    expect(net.state.length).toBe(4);
    expect(net.stateRanges).toEqual([{ layer: 2, name: 'runningMean', offset: 0, length: 4 }]);
    expect(net.stats.length).toBe(4);
  });

  it('is updated identically for 1 and 3 workers (folded in micro-batch order by the main thread)', async () => {
    const config = smallConfig(data, { augmentation: null });
    const one = await trainSmall(config, { workers: 1, spec: STATE_SPEC });
    const three = await trainSmall(config, { workers: 3, spec: STATE_SPEC });
    expect(Array.from(one.state).every((v) => v !== 0)).toBe(true);
    expect(bits(one.state).equals(bits(three.state))).toBe(true);
    expect(bits(one.params).equals(bits(three.params))).toBe(true);
    expect(one.records.map((r) => r.testAccuracy)).toEqual(three.records.map((r) => r.testAccuracy));
  });

  it('is saved in checkpoints and restored on resume, from the end of an epoch and mid-epoch, exactly', async () => {
    const config = smallConfig(data, { epochs: 3 });
    const straight = await trainSmall(config, { workers: 2, spec: STATE_SPEC });

    const out1 = tempDir('cnnviz-state-');
    const first = await trainSmall({ ...config, epochs: 1 }, { workers: 2, out: out1, spec: STATE_SPEC });
    const snap1 = parseSnapshot(JSON.parse(readFileSync(first.lastCheckpoint!, 'utf8')) as Record<string, unknown>, first.lastCheckpoint!);
    expect(bits(snap1.state!).equals(bits(first.state))).toBe(true);
    const resumed = await trainSmall(config, { workers: 3, out: out1, resume: snap1, spec: STATE_SPEC });
    expect(bits(resumed.state).equals(bits(straight.state))).toBe(true);
    expect(bits(resumed.params).equals(bits(straight.params))).toBe(true);

    const out2 = tempDir('cnnviz-state-');
    const cut = await trainSmall(config, { workers: 2, out: out2, interruptAfterBatches: 6, spec: STATE_SPEC });
    expect(cut.status).toBe('interrupted');
    const snap2 = parseSnapshot(JSON.parse(readFileSync(cut.lastCheckpoint!, 'utf8')) as Record<string, unknown>, cut.lastCheckpoint!);
    const resumed2 = await trainSmall(config, { workers: 1, out: out2, resume: snap2, spec: STATE_SPEC });
    expect(bits(resumed2.state).equals(bits(straight.state))).toBe(true);
    expect(bits(resumed2.params).equals(bits(straight.params))).toBe(true);
  });
});
