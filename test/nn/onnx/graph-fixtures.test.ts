import { describe, expect, it } from 'vitest';
import { pytorchAgreement } from './fixtures.js';

describe('ONNX graphs from PyTorch (batch norm, residual adds, concat, avg pool), run by cnnviz', () => {
  for (const name of ['resnet_bn', 'avgpool_concat']) {
    it(`${name}: reproduces PyTorch's probabilities to 1e-5`, () => {
      const { worst, preprocessing, expectedPreprocessing } = pytorchAgreement(name);
      expect(preprocessing).toEqual(expectedPreprocessing);
      expect(worst).toBeLessThan(1e-5);
    });
  }
});
