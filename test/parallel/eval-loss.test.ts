/**
 * The test loss comes from the loss layer itself, for every loss type: an svm network's test loss is
 * its hinge loss (it used to be reported as 0), a softmax network's its cross-entropy.
 */
import { describe, expect, it } from 'vitest';
import { SCALE } from '../../src/data/preprocess.js';
import { MicroBatchRunner } from '../../src/parallel/micro-batch.js';
import { parseSpec } from '../../src/nn/spec.js';
import { svmLoss } from '../../src/tensor/losses.js';
import { Network } from '../../src/nn/network.js';

const N = 6;
const split = {
  count: N,
  labels: Uint8Array.from({ length: N }, (_, i) => (i * 3) % 10),
  pixels: Uint8Array.from({ length: N * 3072 }, (_, i) => (i * 37) & 255),
};

function runner(loss: 'svm' | 'softmax'): MicroBatchRunner {
  const spec = parseSpec([{ type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 }, { type: 'conv', sx: 5, filters: 4, stride: 4, activation: 'relu' }, { type: loss, num_classes: 10 }], 'test');
  const init = new Network(spec);
  init.initialize(4);
  return new MicroBatchRunner(spec, { params: init.params, state: init.state }, SCALE, null, 1, N);
}

describe('test loss from the loss layer', () => {
  it('svm: the hinge loss of the scores, not 0', () => {
    const r = runner('svm');
    const predictions = new Int32Array(N);
    const [loss] = r.evaluate(split, Int32Array.from({ length: N }, (_, i) => i), 0, N, predictions);
    // The same scores, scored by the kernel directly.
    const scores = r.net.acts[r.net.layers.length - 1].slice(0, N * 10);
    const expected = svmLoss(N, 10, scores, Int32Array.from(split.labels), null);
    expect(expected).toBeGreaterThan(0);
    expect(loss).toBeCloseTo(expected, 4);
  });

  it('softmax: the cross-entropy, -log p[true class] summed', () => {
    const r = runner('softmax');
    const [loss] = r.evaluate(split, Int32Array.from({ length: N }, (_, i) => i), 0, N, new Int32Array(N));
    const p = r.net.acts[r.net.layers.length - 1];
    let expected = 0;
    for (let i = 0; i < N; i++) expected -= Math.log(p[i * 10 + split.labels[i]]);
    expect(loss).toBeCloseTo(expected, 3);
    // Network.lossValue gives the same number after a forward in evaluation mode.
    const net = r.net;
    expect(net.lossValue({ labels: Int32Array.from(split.labels) })).toBeCloseTo(loss, 5);
  });
});
