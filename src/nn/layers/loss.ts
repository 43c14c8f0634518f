import { l2RegressionLoss, softmax, softmaxCrossEntropy, svmLoss } from '../../tensor/losses.js';
import type { LayerConfig, Shape3 } from '../spec.js';
import { Layer } from './layer.js';

/** What a loss is measured against: class labels (softmax, svm) or target values (regression). */
export interface LossTarget {
  labels?: Int32Array;
  /** (n, outputs) for regression. */
  values?: Float32Array;
  /** Label smoothing of the softmax cross-entropy (training only; 0 or absent: none). */
  smoothing?: number;
}

/**
 * The last layer. Its forward gives the network's output (softmax: probabilities; svm and regression:
 * the raw scores); `loss` returns the loss summed over the batch and writes d(loss)/d(input).
 */
export class LossLayer extends Layer {
  constructor(config: Extract<LayerConfig, { type: 'softmax' | 'svm' | 'regression' }>, index: number, inShape: Shape3, outShape: Shape3) {
    super(config, index, inShape, outShape);
  }

  forward(input: Float32Array, output: Float32Array, n: number): void {
    if (this.config.type === 'softmax') softmax(n, this.outSize, input, output);
    else output.set(input.subarray(0, n * this.outSize));
  }

  backward(): void {
    throw new Error('a loss layer is differentiated with loss(), not backward()');
  }

  loss(input: Float32Array, output: Float32Array, inputGrad: Float32Array, n: number, target: LossTarget): number {
    const k = this.outSize;
    const where = `layer ${this.index} (${this.type})`;
    if (this.config.type === 'regression') {
      if (!target.values) throw new Error(`${where} needs target values`);
      return l2RegressionLoss(n, k, input, target.values, inputGrad);
    }
    const labels = target.labels;
    if (!labels) throw new Error(`${where} needs class labels`);
    for (let i = 0; i < n; i++) {
      if (labels[i] < 0 || labels[i] >= k) throw new Error(`${where}: label ${labels[i]} of sample ${i} is outside 0..${k - 1}`);
    }
    if (this.config.type === 'softmax') return softmaxCrossEntropy(n, k, input, labels, output, inputGrad, target.smoothing ?? 0);
    return svmLoss(n, k, input, labels, inputGrad);
  }
}
