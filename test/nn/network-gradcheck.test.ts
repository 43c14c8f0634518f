import { describe, it } from 'vitest';
import { gradCheck } from '../helpers/gradcheck.js';

const input = { type: 'input', out_sx: 7, out_sy: 6, out_depth: 3 };

describe('network gradients (finite differences)', () => {
  it('conv, relu, pool, lrn, maxout, dropout, fc, tanh, sigmoid, leakyrelu and softmax together, batch 3', () => {
    gradCheck(
      [
        input,
        { type: 'conv', sx: 3, sy: 2, filters: 6, stride: 2, pad: 1, activation: 'relu' },
        { type: 'lrn', k: 1, n: 3, alpha: 0.5, beta: 0.75 },
        { type: 'pool', sx: 2, stride: 1 },
        { type: 'conv', sx: 2, filters: 4, stride: 1, pad: 0, activation: 'maxout', group_size: 2 },
        { type: 'fc', num_neurons: 7, activation: 'tanh', drop_prob: 0.25 },
        { type: 'leakyrelu', alpha: 0.2 },
        { type: 'fc', num_neurons: 5, activation: 'sigmoid' },
        { type: 'softmax', num_classes: 4 },
      ],
      { labels: Int32Array.from([0, 3, 2]) },
      3,
    );
  });

  it('svm (hinge) loss', () => {
    gradCheck([input, { type: 'conv', sx: 3, filters: 4, stride: 1, pad: 1, activation: 'tanh' }, { type: 'svm', num_classes: 5 }], { labels: Int32Array.from([1, 4]) }, 2);
  });

  it('L2 regression loss', () => {
    gradCheck([input, { type: 'fc', num_neurons: 6, activation: 'sigmoid' }, { type: 'regression', num_neurons: 3 }], { values: Float32Array.from([0.1, -0.4, 0.7, 1.2, 0, -1]) }, 2);
  });
});
