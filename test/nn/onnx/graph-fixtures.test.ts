import { describe, expect, it } from 'vitest';
import { evalContext, Network } from '../../../src/nn/network.js';
import { loadOnnxSnapshot } from '../../../src/nn/onnx/load.js';
import { expected, fixtureImages, fixturePath, fixturePreprocessing } from './fixtures.js';

describe('ONNX graphs from PyTorch (batch norm, residual adds, concat, avg pool), run by cnnviz', () => {
  for (const name of ['resnet_bn', 'avgpool_concat']) {
    it(`${name}: reproduces PyTorch's probabilities to 1e-5`, () => {
      const pre = fixturePreprocessing(name);
      const snap = loadOnnxSnapshot(fixturePath(name), expected.models[name].preprocessInFile ? undefined : pre);
      expect(snap.preprocessing ?? { kind: 'scale' }).toEqual(pre);
      const net = new Network(snap.spec);
      net.params.set(snap.params);
      net.state.set(snap.state);
      const { batch, n } = fixtureImages(pre);
      const out = net.forward(batch, n, evalContext(net));
      let worst = 0;
      expected.models[name].probabilities.forEach((row, i) => row.forEach((p, k) => (worst = Math.max(worst, Math.abs(out[i * 10 + k] - p)))));
      expect(worst).toBeLessThan(1e-5);
    });
  }
});
