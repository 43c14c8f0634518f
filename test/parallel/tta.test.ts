/**
 * --tta flip: the evaluation averages the outputs for each image and its left-right mirror. Checked
 * against two plain passes averaged by hand, and on mirror-symmetric images, where it changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { SCALE } from '../../src/data/preprocess.js';
import { crossEntropyOfProbabilities, mirrorImages } from '../../src/data/tta.js';
import { MicroBatchRunner } from '../../src/parallel/micro-batch.js';
import { Network } from '../../src/nn/network.js';
import { parseSpec } from '../../src/nn/spec.js';
import type { ImageSplit } from '../../src/data/split.js';
import type { TtaMode } from '../../src/data/tta.js';

const N = 8;
const SHAPE: [number, number, number] = [3, 32, 32];
const identity = Int32Array.from({ length: N }, (_, i) => i);

/** Pixels that differ between left and right (a mirror changes the input). */
function asymmetric(): ImageSplit {
  return {
    count: N, labels: Uint8Array.from({ length: N }, (_, i) => (i * 3) % 10),
    pixels: Uint8Array.from({ length: N * 3072 }, (_, i) => ((i * 37) ^ (i >> 5)) & 255), shape: SHAPE,
  };
}

/** The split with every image mirrored (on the bytes, independently of mirrorImages). */
function mirroredSplit(s: ImageSplit): ImageSplit {
  const pixels = new Uint8Array(s.pixels.length);
  for (let row = 0; row < s.pixels.length / 32; row++) for (let x = 0; x < 32; x++) pixels[row * 32 + x] = s.pixels[row * 32 + 31 - x];
  return { ...s, pixels };
}

function runner(tta: TtaMode, loss: 'softmax' | 'svm' = 'softmax'): MicroBatchRunner {
  const spec = parseSpec([
    { type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 },
    { type: 'conv', sx: 5, filters: 6, stride: 2, pad: 2, activation: 'relu' },
    { type: 'fc', num_neurons: 10 },
    { type: loss, num_classes: 10 },
  ], 'test');
  const init = new Network(spec);
  init.initialize(11);
  return new MicroBatchRunner(spec, { params: init.params, state: init.state }, SCALE, null, 1, N, 0, tta);
}

/** Outputs (probabilities or scores) of a plain pass over the split, copied. */
function plainOutputs(split: ImageSplit, loss: 'softmax' | 'svm' = 'softmax'): { out: Float32Array; loss: number } {
  const r = runner('none', loss);
  const [l] = r.evaluate(split, identity, 0, N, new Int32Array(N));
  return { out: r.net.acts[r.net.layers.length - 1].slice(0, N * 10), loss: l };
}

const argmax = (v: Float32Array, i: number): number => {
  let best = 0;
  for (let c = 1; c < 10; c++) if (v[i * 10 + c] > v[i * 10 + best]) best = c;
  return best;
};

describe('test-time flip averaging', () => {
  it('mirrorImages reverses every row of every channel, and twice is the identity', () => {
    const images = Float32Array.from({ length: 2 * 2 * 3 }, (_, i) => i); // 2 images, 1 channel, 2 rows of 3
    mirrorImages(images, 2, [1, 2, 3]);
    expect([...images]).toEqual([2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9]);
    mirrorImages(images, 2, [1, 2, 3]);
    expect([...images]).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('equals two plain passes (image and mirror) with their probabilities averaged by hand', () => {
    const split = asymmetric();
    const a = plainOutputs(split);
    const b = plainOutputs(mirroredSplit(split));
    const avg = a.out.map((v, i) => (v + b.out[i]) / 2);
    const predictions = new Int32Array(N);
    const [loss, correct] = runner('flip').evaluate(split, identity, 0, N, predictions);
    const labels = Int32Array.from(split.labels);
    expect(loss).toBeCloseTo(crossEntropyOfProbabilities(avg, N, 10, labels), 4);
    let expectedCorrect = 0;
    for (let i = 0; i < N; i++) {
      expect(predictions[i]).toBe(argmax(avg, i));
      if (argmax(avg, i) === labels[i]) expectedCorrect++;
    }
    expect(correct).toBe(expectedCorrect);
    // Not vacuous: the mirror's outputs differ, and the averaged loss is neither pass's loss.
    expect(a.out.some((v, i) => Math.abs(v - b.out[i]) > 1e-4)).toBe(true);
    expect(Math.abs(loss - a.loss)).toBeGreaterThan(1e-4);
  });

  it('svm: averages the scores and reports the mean of the two hinge losses', () => {
    const split = asymmetric();
    const a = plainOutputs(split, 'svm');
    const b = plainOutputs(mirroredSplit(split), 'svm');
    const avg = a.out.map((v, i) => (v + b.out[i]) / 2);
    const predictions = new Int32Array(N);
    const [loss] = runner('flip', 'svm').evaluate(split, identity, 0, N, predictions);
    expect(loss).toBeCloseTo((a.loss + b.loss) / 2, 4);
    for (let i = 0; i < N; i++) expect(predictions[i]).toBe(argmax(avg, i));
  });

  it('changes nothing for mirror-symmetric images', () => {
    const split = asymmetric();
    for (let row = 0; row < split.pixels.length / 32; row++) for (let x = 16; x < 32; x++) split.pixels[row * 32 + x] = split.pixels[row * 32 + 31 - x];
    const plainPredictions = new Int32Array(N);
    const ttaPredictions = new Int32Array(N);
    const plain = runner('none').evaluate(split, identity, 0, N, plainPredictions);
    const r = runner('flip');
    const tta = r.evaluate(split, identity, 0, N, ttaPredictions);
    expect([...ttaPredictions]).toEqual([...plainPredictions]);
    expect(tta[1]).toBe(plain[1]);
    expect(tta[0]).toBeCloseTo(plain[0], 4);
  });
});
