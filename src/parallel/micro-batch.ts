import { fillBatch } from '../data/batch.js';
import type { Augmentation } from '../data/augment.js';
import type { Cifar10Split } from '../data/cifar10.js';
import type { Preprocessing } from '../data/preprocess.js';
import type { PassContext } from '../nn/layers/layer.js';
import { Network } from '../nn/network.js';
import { lossOf, type ModelSpec } from '../nn/spec.js';
import { averageOutputs, crossEntropyOfProbabilities, mirrorImages, type TtaMode } from '../data/tta.js';

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
  /** --tta flip: the first pass's outputs, then the average; absent without test-time augmentation. */
  private readonly ttaOutputs?: Float32Array;
  private readonly shape: [number, number, number];
  private readonly probabilities: boolean;

  constructor(
    spec: ModelSpec,
    shared: { params: Float32Array; state: Float32Array },
    private readonly preprocessing: Preprocessing,
    private readonly augmentation: Augmentation | null,
    seed: number,
    maxBatch: number,
    /** Label smoothing of the softmax loss in training (0: none). */
    private readonly labelSmoothing = 0,
    /** Evaluation only: 'flip' averages the outputs for each image and its mirror (see data/tta.ts). */
    tta: TtaMode = 'none',
  ) {
    // Replicas only hand back parameter gradients: activation gradients share memory by lifetime, and a
    // layer and the ReLU after it may run as one pass (CNNVIZ_FUSE=0: separately, for comparisons).
    this.net = new Network(spec, { ...shared, activationGrads: 'live', fuse: process.env.CNNVIZ_FUSE !== '0' });
    const [c, h, w] = spec.shapes[0];
    this.images = new Float32Array(maxBatch * c * h * w);
    this.labels = new Int32Array(maxBatch);
    this.ctx = { training: true, ws: this.net.ws, seed, step: 0, firstSample: 0 };
    this.shape = [c, h, w];
    this.probabilities = lossOf(spec).probabilities === true;
    if (tta === 'flip') this.ttaOutputs = new Float32Array(maxBatch * this.net.outputSize);
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

  /**
   * Forward test records [start, start+n): writes predictions and returns [summed loss, correct]. With
   * --tta flip, the prediction and loss are those of the outputs averaged over each image and its mirror.
   */
  evaluate(split: Cifar10Split, identity: Int32Array, start: number, n: number, predictions: Int32Array): [number, number] {
    fillBatch(split, identity, start, n, this.images, this.labels, this.preprocessing, null, { seed: 0, epoch: 0 });
    this.ctx.training = false;
    const k = this.net.outputSize;
    let out = this.net.forward(this.images, n, this.ctx);
    // The loss layer's own loss (softmax: cross-entropy, svm: hinge), without label smoothing.
    let loss = this.net.lossValue({ labels: this.labels });
    const averaged = this.ttaOutputs;
    if (averaged) {
      averaged.set(out.subarray(0, n * k));
      mirrorImages(this.images, n, this.shape);
      const mirrored = this.net.forward(this.images, n, this.ctx);
      const mirroredLoss = this.net.lossValue({ labels: this.labels });
      averageOutputs(averaged, mirrored, n * k, averaged);
      // Probabilities: the cross-entropy of the averaged prediction; scores (svm): the two losses' mean.
      loss = this.probabilities ? crossEntropyOfProbabilities(averaged, n, k, this.labels) : (loss + mirroredLoss) / 2;
      out = averaged;
    }
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const predicted = argmaxRow(out, i, k);
      predictions[start + i] = predicted;
      if (predicted === this.labels[i]) correct++;
    }
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
