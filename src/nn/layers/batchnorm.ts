/**
 * Batch normalisation, {"type": "batchnorm", "momentum": 0.1, "eps": 1e-5, "affine": true}: per channel
 * after a conv (C, H, W), per unit after an fc (C, 1, 1). PyTorch's convention (src/tensor/batchnorm.ts).
 *
 * Training normalises with the statistics of the micro-batch being computed ("ghost" batch norm): each
 * micro-batch is a fixed set of images whatever the number of workers, so the outputs, the gradients and
 * the running statistics do not depend on --workers. The running statistics are a state tensor: each
 * training forward writes its micro-batch's mean and unbiased variance into node.stats, and after every
 * optimizer step the trainer folds them in micro-batch order (foldState):
 *   running = (1 - momentum) * running + momentum * stat,   once per micro-batch.
 * Evaluation (test accuracy, predict, the probe's pictures) normalises with the running statistics.
 * gamma and beta are not decayed unless l1_decay_mul / l2_decay_mul say so (default 0).
 */
import {
  batchNormBackward, batchNormForwardEval, batchNormForwardTrain, invStdOf, updateRunningStats, type BatchNormDims,
} from '../../tensor/batchnorm.js';
import {
  allocBatchNormWasm, batchNormBackwardWasm, batchNormForwardEvalWasm, batchNormForwardTrainWasm, type BatchNormWasmBuffers,
} from '../../tensor/batchnorm-wasm.js';
import type { WasmKernels } from '../../tensor/wasm.js';
import { defineLayer, foldIntoGammaBeta, same, type FusedRelu, type LayerImpl, type LayerNode, type PassContext } from './layer.js';
import { below, passThroughGradient } from './wording.js';

export interface BatchNormFields {
  momentum: number;
  eps: number;
  affine: boolean;
  l1DecayMul: number;
  l2DecayMul: number;
}

class BatchNormImpl implements LayerImpl {
  private readonly dims: BatchNormDims;
  private readonly mean: Float32Array;
  private readonly variance: Float32Array;
  private readonly invStd: Float32Array;
  /** Whether the last forward normalised with batch statistics (then backward must too). */
  private lastTraining = false;
  private readonly wk: WasmKernels | null;
  private wbuf: BatchNormWasmBuffers | null = null;

  constructor(private readonly node: LayerNode<BatchNormFields>) {
    const [c, h, w] = node.inShapes[0];
    this.dims = { n: 0, c, spatial: h * w };
    this.mean = new Float32Array(c);
    this.variance = new Float32Array(c);
    this.invStd = new Float32Array(c);
    this.wk = node.wasm;
    this.fuseRelu = node.wasm?.fused
      ? {
          forward: (inputs, reluOutput, n, ctx) => this.run(inputs, reluOutput, n, ctx, true),
          backward: (inputs, reluOutput, reluOutputGrad, inputGrads, n) => this.backpropagate(inputs, reluOutputGrad, inputGrads, n, reluOutput),
        }
      : undefined;
  }

  private get gamma(): Float32Array | null {
    return this.node.config.affine ? this.node.params[0].data : null;
  }

  private get beta(): Float32Array | null {
    return this.node.config.affine ? this.node.params[1].data : null;
  }

  reserveWasm(): void {
    if (this.wk) this.wbuf = allocBatchNormWasm(this.wk, this.dims.c);
  }

  private onWasm(...arrays: (Float32Array | null)[]): boolean {
    const wk = this.wk;
    if (!wk || !this.wbuf) return false;
    for (const a of arrays) if (a && !wk.owns(a)) return false;
    return true;
  }

  /** With the native kernels: batch norm and the ReLU after it in one pass (see LayerImpl.fuseRelu). */
  readonly fuseRelu: FusedRelu | undefined;

  /** The fused kernels need every tensor in wasm memory (a replica's always are). */
  private fusedOffWasm(): never {
    throw new Error(`${this.node.config.name}: batch norm + ReLU runs on wasm memory only`);
  }

  forward(inputs: Float32Array[], output: Float32Array, n: number, ctx: PassContext): void {
    this.run(inputs, output, n, ctx, false);
  }

  /** relu: output gets max(0, batch norm) (fused; the fused kernels need every tensor in wasm memory). */
  private run(inputs: Float32Array[], output: Float32Array, n: number, ctx: PassContext, relu: boolean): void {
    const d = this.dims;
    d.n = n;
    const input = inputs[0];
    const { eps } = this.node.config;
    const [runningMean, runningVar] = this.node.state;
    const wasm = this.onWasm(input, output);
    if (relu && !wasm) this.fusedOffWasm();
    this.lastTraining = ctx.training;
    if (!ctx.training) {
      if (wasm) batchNormForwardEvalWasm(this.wk!, d, input.byteOffset, this.gamma, this.beta, eps, runningMean.data, runningVar.data, output.byteOffset, this.wbuf!, relu);
      else batchNormForwardEval(d, input, this.gamma, this.beta, eps, runningMean.data, runningVar.data, output);
      return;
    }
    if (wasm) batchNormForwardTrainWasm(this.wk!, d, input.byteOffset, this.gamma, this.beta, eps, output.byteOffset, this.wbuf!, this.mean, this.variance, this.invStd, relu);
    else batchNormForwardTrain(d, input, this.gamma, this.beta, eps, output, this.mean, this.variance, this.invStd);
    // The micro-batch's statistics for the running ones: mean, then the unbiased variance.
    const m = n * d.spatial;
    const unbias = m > 1 ? m / (m - 1) : 1;
    const stats = this.node.stats;
    for (let c = 0; c < d.c; c++) {
      stats[c] = this.mean[c];
      stats[d.c + c] = this.variance[c] * unbias;
    }
  }

  backward(inputs: Float32Array[], _output: Float32Array, outputGrad: Float32Array, inputGrads: (Float32Array | null)[], n: number): void {
    this.backpropagate(inputs, outputGrad, inputGrads, n, null);
  }

  /** reluOutput: fused with the ReLU whose output that is; outputGrad is then the ReLU's. */
  private backpropagate(inputs: Float32Array[], outputGrad: Float32Array, inputGrads: (Float32Array | null)[], n: number, reluOutput: Float32Array | null): void {
    const d = this.dims;
    d.n = n;
    const input = inputs[0];
    const inputGrad = inputGrads[0];
    const affine = this.node.config.affine;
    const gammaGrad = affine ? this.node.params[0].grad : null;
    const betaGrad = affine ? this.node.params[1].grad : null;
    let mean = this.mean;
    const invStd = this.invStd;
    if (!this.lastTraining) {
      // Evaluation (the probe pass): the running statistics are constants.
      const [runningMean, runningVar] = this.node.state;
      mean = runningMean.data;
      invStdOf(runningVar.data, this.node.config.eps, invStd);
    }
    if (this.onWasm(input, outputGrad, inputGrad, reluOutput)) {
      batchNormBackwardWasm(this.wk!, d, this.lastTraining, input.byteOffset, this.gamma, mean, invStd, outputGrad.byteOffset,
        inputGrad ? inputGrad.byteOffset : -1, gammaGrad, betaGrad, this.wbuf!, reluOutput ? reluOutput.byteOffset : -1);
      return;
    }
    if (reluOutput) this.fusedOffWasm();
    batchNormBackward(d, this.lastTraining, input, this.gamma, mean, invStd, outputGrad, inputGrad, gammaGrad, betaGrad);
  }
}

export const batchNormLayer = defineLayer<BatchNormFields>({
  type: 'batchnorm',
  parse: (r) => ({
    momentum: r.real('momentum', 0.1, [0, 1]),
    eps: r.real('eps', 1e-5, [1e-12, 1]),
    affine: r.bool('affine', true),
    l1DecayMul: r.real('l1_decay_mul', 0),
    l2DecayMul: r.real('l2_decay_mul', 0),
  }),
  outShape: same,
  params: (c, [prev]) =>
    c.affine
      ? [
          { name: 'gamma', shape: [prev[0]], l1DecayMul: c.l1DecayMul, l2DecayMul: c.l2DecayMul, init: { fill: 1 } },
          { name: 'beta', shape: [prev[0]], l1DecayMul: c.l1DecayMul, l2DecayMul: c.l2DecayMul, init: { fill: 0 } },
        ]
      : [],
  state: (_c, [prev]) => [
    { name: 'runningMean', shape: [prev[0]], init: 0 },
    { name: 'runningVar', shape: [prev[0]], init: 1 },
  ],
  stats: (_c, [prev]) => 2 * prev[0],
  foldState(c, [runningMean, runningVar], stats, counts) {
    const C = runningMean.data.length;
    stats.forEach((s, t) => {
      if (counts[t] > 0) updateRunningStats(runningMean.data, runningVar.data, s.subarray(0, C), s.subarray(C, 2 * C), 1, c.momentum);
    });
  },
  describe: (c) => `batch norm, momentum ${c.momentum}, eps ${c.eps}${c.affine ? '' : ', no gamma/beta'}`,
  hints: {
    negative: 'can', explain: 'batchnorm', positions: 'same',
    role: () => 'normalise',
    noun: () => 'batch norm',
    passesDown: () => 'multiplies each channel\u2019s gradient by \u03b3/\u03c3 of that channel (in evaluation mode, as in the probe; in training the batch statistics also take out the gradient\u2019s mean and its part along the normalised values)',
    channelBars: [{ name: 'gamma', reference: 1 }, { name: 'beta' }, { name: 'runningMean' }, { name: 'runningVar', reference: 1 }],
    words: (ctx) => ({
      what: `Batch normalisation: per channel, subtracts the mean and divides by the standard deviation \u03c3 (of the batch in training, of running averages at test time), then scales by \u03b3 and shifts by \u03b2. Each channel of ${below(ctx)} leaves with a scale the network chooses, whatever scale it arrived with.`,
      pictures: {
        activations: 'Normalised maps: each channel is roughly zero-mean with unit spread before \u03b3 and \u03b2; \u03b3 and \u03b2 then set its spread and offset (the per-channel bars below).',
        'activation-gradients': passThroughGradient(ctx, `multiplies it by \u03b3/\u03c3 per channel before handing it to ${below(ctx)} (the probe runs in evaluation mode: \u03c3 is the running one)`),
      },
      channels: [
        'Per channel: gamma, beta and the running statistics',
        'Batch norm subtracts each channel\u2019s mean and divides by its standard deviation, so every channel leaves with values of mean about 0 and spread about 1, whatever scale the layer below gave them; then gamma multiplies (the grey line marks 1, no change) and beta shifts each channel, so the network can choose the scale it needs. The running mean and variance average the statistics of the training batches; evaluation, and these pictures, normalise with them. Their values are also in stats.json.',
      ],
    }),
  },
  // Not before it: in training its batch statistics would undo the map.
  affineFold: { output: foldIntoGammaBeta },
  create: (node) => new BatchNormImpl(node),
  onnx({ config: c, outShape, tensors: t }, b) {
    const ch = outShape[0];
    const affine = c.affine && t.gamma !== undefined;
    const gamma = b.floats('gamma', [ch], affine ? t.gamma : new Float32Array(ch).fill(1));
    const beta = b.floats('beta', [ch], affine ? t.beta : new Float32Array(ch));
    const stats = [b.floats('runningMean', [ch], t.runningMean), b.floats('runningVar', [ch], t.runningVar)];
    // ONNX: running = running * momentum + batch * (1 - momentum); cnnviz (PyTorch): the other way round.
    b.output('BatchNormalization', [b.inputs[0], gamma, beta, ...stats], { epsilon: { float: c.eps }, momentum: { float: 1 - c.momentum } });
  },
  onnxImport: {
    ops: ['BatchNormalization'],
    read(n) {
      const ch = n.image(0).shape[0];
      if (n.int('training_mode', 0) !== 0) n.fail('attribute "training_mode" is 1; export the model in inference mode (model.eval())');
      const perChannel = (i: number, what: string) => {
        const t = n.constant(i, what);
        if (t.data.length !== ch) n.fail(`${what} "${t.name}" has shape [${t.dims.join(', ')}], expected ${ch} values`);
        return { shape: [ch], data: t.data };
      };
      const tensors = { gamma: perChannel(1, 'scale'), beta: perChannel(2, 'bias'), runningMean: perChannel(3, 'mean'), runningVar: perChannel(4, 'var') };
      // ONNX: running = running * momentum + batch * (1 - momentum); cnnviz keeps PyTorch's convention.
      const momentum = Number((1 - Math.fround(n.float('momentum', 0.9))).toPrecision(6));
      n.emit({ type: 'batchnorm', momentum, eps: n.decimal(n.float('epsilon', 1e-5)), affine: true }, { tensors });
    },
  },
});
