import { describe, expect, it } from 'vitest';
import { Network } from '../../src/nn/network.js';
import {
  assertMemoryFits, BASELINE_BYTES, formatBytes, inferenceMemory, networkFootprint, setMemoryLimit, specParamCount, trainingMemory,
} from '../../src/nn/memory.js';
import { parseSpec, presetSpec } from '../../src/nn/spec.js';

const input = { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 };
const plan = { batchSize: 32, microBatch: 8, evalMicroBatch: 50, workers: 2, trainImages: 50_000, testImages: 10_000, imageBytes: 3072, probeCount: 8 };

describe('memory estimate', () => {
  it('counts parameters without building the network, as the network does', () => {
    const spec = presetSpec('convnetjs-cifar10');
    expect(specParamCount(spec)).toBe(new Network(spec).paramCount);
    const fp = networkFootprint(spec);
    expect(fp.inputValues).toBe(3072);
    expect(fp.scratchValues).toBe(16 * 25 * 16 * 16); // conv2's im2col for one image, the largest
  });

  it('the preset on CIFAR-10 needs a few hundred MB, well under any machine', () => {
    const need = trainingMemory(presetSpec('convnetjs-cifar10'), plan);
    expect(need.bytes).toBeGreaterThan(BASELINE_BYTES + 60_000 * 3072);
    expect(need.bytes).toBeLessThan(600 * 2 ** 20);
    setMemoryLimit(undefined);
    expect(() => assertMemoryFits(need, 'preset')).not.toThrow();
  });

  it('grows with the batch: the gradient slots and activations scale with it', () => {
    const spec = presetSpec('convnetjs-cifar10');
    const a = trainingMemory(spec, plan);
    const b = trainingMemory(spec, { ...plan, batchSize: 32 * 1024, microBatch: 8 });
    expect(b.bytes - a.bytes).toBeGreaterThan(4 * 22_466 * (4096 - 4) * 0.99);
  });

  it('refuses with one line naming the estimate and the limit', () => {
    const huge = parseSpec([input, { type: 'fc', num_neurons: 100_000_000 }, { type: 'softmax', num_classes: 10 }], 'fc.json');
    setMemoryLimit(undefined);
    expect(() => assertMemoryFits(trainingMemory(huge, plan), 'fc.json')).toThrow(
      /^fc\.json needs about [\d.,]+ TiB of memory \(.*\), more than the limit of [\d.,]+ [MGT]iB \(the machine's memory; --max-memory sets another\)$/,
    );
    setMemoryLimit(64 * 2 ** 20);
    try {
      expect(() => assertMemoryFits(inferenceMemory(presetSpec('convnetjs-cifar10'), 1), 'preset')).toThrow(/limit of 64 MiB \(--max-memory\)$/);
    } finally {
      setMemoryLimit(undefined);
    }
  });

  it('refuses one replica beyond the 4 GiB of a WebAssembly instance', () => {
    const wide = parseSpec([input, { type: 'conv', sx: 3, filters: 64, pad: 1 }, { type: 'softmax', num_classes: 10 }], 'wide.json');
    const need = inferenceMemory(wide, 8192);
    setMemoryLimit(2 ** 50);
    try {
      expect(() => assertMemoryFits(need, 'wide.json', { wasm: true })).toThrow(/4 GiB a WebAssembly instance/);
      expect(() => assertMemoryFits(need, 'wide.json')).not.toThrow();
    } finally {
      setMemoryLimit(undefined);
    }
  });

  it('formats sizes', () => {
    expect(formatBytes(512)).toBe('512 bytes');
    expect(formatBytes(1.5 * 2 ** 30)).toBe('1.5 GiB');
    expect(formatBytes(300 * 2 ** 20)).toBe('300 MiB');
  });
});
