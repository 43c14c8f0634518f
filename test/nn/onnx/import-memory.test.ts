/**
 * `--model model.onnx` respects --max-memory (or the machine's memory) while importing: the estimate from
 * the file size is checked before the file is read, and from the initializers' sizes before the weights
 * are copied, so a model too big for the limit stops with one line instead of failing half-way.
 */
import { statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { BASELINE_BYTES, onnxImportMemory, setMemoryLimit } from '../../../src/nn/memory.js';
import { loadOnnxSnapshot } from '../../../src/nn/onnx/load.js';
import { UserError } from '../../../src/util/errors.js';
import { fixturePath } from './fixtures.js';

afterEach(() => setMemoryLimit(undefined));

describe('ONNX import memory', () => {
  it('counts the file three times and the weights three times as float32; before decoding, weights <= file / 4', () => {
    expect(onnxImportMemory(1000, 100).bytes).toBe(BASELINE_BYTES + 3000 + 1200);
    expect(onnxImportMemory(1000).bytes).toBe(BASELINE_BYTES + 3000 + 3000);
    expect(onnxImportMemory(1000).parts.map((p) => p.what)).toEqual(['the file and its decoded tensors', '250 weights as float32 (import, parameters, gradients)']);
  });

  it('refuses a model over --max-memory before reading it, naming the file; loads it under a limit that fits', () => {
    const file = fixturePath('resnet_bn');
    const size = statSync(file).size;
    setMemoryLimit(BASELINE_BYTES + size);
    let err: unknown;
    try {
      loadOnnxSnapshot(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/resnet_bn\.onnx \(importing it\) needs about [\d.]+ MiB of memory \(the file and its decoded tensors .*\), more than the limit of [\d.]+ MiB \(--max-memory\)$/);
    setMemoryLimit(BASELINE_BYTES + 6 * size);
    expect(loadOnnxSnapshot(file).params.length).toBeGreaterThan(1000);
  });
});
