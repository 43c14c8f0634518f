import { fillBatch } from '../data/batch.js';
import type { Augmentation } from '../data/augment.js';
import type { Cifar10Split } from '../data/cifar10.js';
import type { Preprocessing } from '../data/preprocess.js';
import type { PassContext } from '../nn/layers/layer.js';
import { Network } from '../nn/network.js';
import type { ModelSpec } from '../nn/spec.js';

/** Index of the largest value in row i of an (n, k) matrix. */
export function argmaxRow(values: Float32Array, i: number, k: number): number {
  let best = 0;
  let bestValue = values[i * k];
  for (let c = 1; c < k; c++) {
    const v = values[i * k + c];
    if (v > bestValue) {
      bestValue = v;
      best = c;
    }
  }
  return best;
}

/**
 * One replica's work: a training micro-batch (forward, backward, gradient into its own slot) or an
 * evaluation micro-batch (forward only). Used by the worker threads; plain objects, so tests can run
 * it in-process too.
 */
export class MicroBatchRunner {
  readonly net: Network;
  private readonly images: Float32Array;
  private readonly labels: Int32Array;
  private readonly ctx: PassContext;

  constructor(
    spec: ModelSpec,
    shared: { params: Float32Array; state: Float32Array },
    private readonly preprocessing: Preprocessing,
    private readonly augmentation: Augmentation | null,
    seed: number,
    maxBatch: number,
    /** Label smoothing of the softmax loss in training (0: none). */
    private readonly labelSmoothing = 0,
  ) {
    // Replicas only hand back parameter gradients: activation gradients share memory by lifetime.
    this.net = new Network(spec, { ...shared, activationGrads: 'live' });
    const [c, h, w] = spec.shapes[0];
    this.images = new Float32Array(maxBatch * c * h * w);
    this.labels = new Int32Array(maxBatch);
    this.ctx = { training: true, ws: this.net.ws, seed, step: 0, firstSample: 0 };
  }

  /**
   * Micro-batch `task` of a mini-batch that starts at `batchStart` in `order`: writes the gradient
   * summed over its images to `gradOut`, its layers' statistics (for the state update) to `statsOut`,
   * and returns [summed data loss, correct predictions].
   */
  train(
    split: Cifar10Split, order: Int32Array, batchStart: number, batchCount: number, task: number, microBatch: number,
    epoch: number, step: number, gradOut: Float32Array, statsOut: Float32Array,
  ): [number, number] {
    const first = task * microBatch;
    const n = Math.min(microBatch, batchCount - first);
    fillBatch(split, order, batchStart + first, n, this.images, this.labels, this.preprocessing, this.augmentation, { seed: this.ctx.seed, epoch });
    this.ctx.training = true;
    this.ctx.step = step;
    this.ctx.firstSample = first;
    const net = this.net;
    net.zeroGrads();
    const out = net.forward(this.images, n, this.ctx);
    const correct = this.countCorrect(out, n);
    const loss = net.backward({ labels: this.labels, smoothing: this.labelSmoothing }, this.ctx);
    gradOut.set(net.grads);
    statsOut.set(net.stats);
    return [loss, correct];
  }

  /** Forward test records [start, start+n): writes predictions and returns [summed loss, correct]. */
  evaluate(split: Cifar10Split, identity: Int32Array, start: number, n: number, predictions: Int32Array): [number, number] {
    fillBatch(split, identity, start, n, this.images, this.labels, this.preprocessing, null, { seed: 0, epoch: 0 });
    this.ctx.training = false;
    const out = this.net.forward(this.images, n, this.ctx);
    const k = this.net.outputSize;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const predicted = argmaxRow(out, i, k);
      predictions[start + i] = predicted;
      if (predicted === this.labels[i]) correct++;
    }
    // The loss layer's own loss (softmax: cross-entropy, svm: hinge), without label smoothing.
    const loss = this.net.lossValue({ labels: this.labels });
    return [loss, correct];
  }

  /**
   * Say which parameter values the shared vector holds (the worker passes the command number: the main
   * thread only updates parameters between commands), so the network copies its weights into wasm
   * memory once per update instead of once per micro-batch. Undefined: copy every time.
   */
  setParamsKey(key: number | undefined): void {
    this.ctx.paramsKey = key;
  }

  private countCorrect(out: Float32Array, n: number): number {
    const k = this.net.outputSize;
    let correct = 0;
    for (let i = 0; i < n; i++) if (argmaxRow(out, i, k) === this.labels[i]) correct++;
    return correct;
  }
}
