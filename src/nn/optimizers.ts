import { selectedNative } from '../tensor/wasm.js';
import type { NativeKernels } from '../tensor/native.js';
import { UserError } from '../util/errors.js';
import type { ParamRange } from './network.js';

export const OPTIMIZER_METHODS = ['sgd', 'nesterov', 'adagrad', 'adadelta', 'windowgrad', 'adam', 'adamw'] as const;
export type OptimizerMethod = (typeof OPTIMIZER_METHODS)[number];

/** ConvNetJS trainer options, same names and meanings. */
export interface OptimizerOptions {
  method: OptimizerMethod;
  learningRate: number;
  momentum: number;
  l1Decay: number;
  l2Decay: number;
  /** adadelta, windowgrad. */
  ro: number;
  eps: number;
  /** adam. */
  beta1: number;
  beta2: number;
  /**
   * PyTorch-style weight decay (absent in ConvNetJS, so optional: older checkpoints lack it), applied to
   * parameters with a nonzero l2 decay multiplier: for adamw decoupled (p -= lr * weightDecay * p before
   * the Adam step, Loshchilov & Hutter), for every other method added to the batch-MEAN gradient
   * (weightDecay * p, as torch.optim's weight_decay). --l1 / --l2 keep ConvNetJS's meaning beside it.
   */
  weightDecay?: number;
}

/** Defaults per method; ConvNetJS's where it has them. */
export function defaultOptimizerOptions(method: OptimizerMethod): OptimizerOptions {
  return {
    method,
    learningRate: method === 'adadelta' ? 1 : method === 'adam' || method === 'adamw' ? 0.001 : 0.01,
    momentum: 0.9,
    l1Decay: 0,
    l2Decay: 0,
    ro: 0.95,
    eps: method === 'adam' || method === 'adamw' ? 1e-8 : 1e-6,
    beta1: 0.9,
    beta2: 0.999,
    weightDecay: method === 'adamw' ? 0.01 : 0,
  };
}

/**
 * Settings under which a method's update is undefined or never learns, as [option, why], or null.
 * Checked per method (a setting the method does not use is not its problem), for new runs and saved
 * checkpoints alike, so the run fails at once naming the setting, not an epoch later blaming --lr.
 */
export function optimizerOptionsProblem(o: Pick<OptimizerOptions, 'method' | 'ro' | 'eps' | 'beta1' | 'beta2'>): ['beta1' | 'beta2' | 'ro' | 'eps', string] | null {
  const adam = o.method === 'adam' || o.method === 'adamw';
  if (adam && !(o.beta1 < 1)) return ['beta1', `must be below 1 for ${o.method}: its bias correction divides by 1 - beta1^t, which is then 0`];
  if (adam && !(o.beta2 < 1)) return ['beta2', `must be below 1 for ${o.method}: the second moment would never leave 0, and the update divides by its root`];
  if ((o.method === 'adadelta' || o.method === 'windowgrad') && !(o.ro < 1)) {
    return ['ro', `must be below 1 for ${o.method}: its squared-gradient average would never leave 0, and the update divides by its root`];
  }
  if (o.method !== 'sgd' && o.method !== 'nesterov' && !(o.eps > 0)) {
    return ['eps', `must be above 0 for ${o.method}: the update divides by the root of an accumulator plus eps, 0 / 0 for a parameter whose gradients were 0`];
  }
  return null;
}

/** Accumulators that are sums or averages of squares, per method: never negative (the update takes their root). */
const SQUARE_ACCUMULATORS: Record<OptimizerMethod, readonly ('gsum' | 'xsum')[]> = {
  sgd: [], nesterov: [], adagrad: ['gsum'], windowgrad: ['gsum'], adadelta: ['gsum', 'xsum'], adam: ['xsum'], adamw: ['xsum'],
};

/**
 * Why a saved optimizer state cannot be continued from, as [accumulator, why], or null: a NaN or
 * infinity anywhere, or a negative value in a sum of squares, would reach the weights at the first update.
 */
export function optimizerStateProblem(s: Pick<OptimizerState, 'method' | 'gsum' | 'xsum'>): ['gsum' | 'xsum', string] | null {
  for (const k of ['gsum', 'xsum'] as const) {
    const a = s[k];
    const square = SQUARE_ACCUMULATORS[s.method].includes(k);
    let bad = 0;
    let negative = 0;
    let first = -1;
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (v - v !== 0) {
        if (bad === 0) first = i;
        bad++;
      } else if (square && v < 0 && bad === 0) {
        if (negative === 0) first = i;
        negative++;
      }
    }
    const of = `of ${a.length.toLocaleString('en-US')} values`;
    if (bad > 0) return [k, `${bad.toLocaleString('en-US')} ${of} are NaN or infinite (the first at index ${first}: ${a[first]})`];
    if (negative > 0) {
      return [k, `${negative.toLocaleString('en-US')} ${of} are negative (the first at index ${first}: ${a[first]}); ${s.method} keeps squares there, never below 0`];
    }
  }
  return null;
}

/** Loss from weight decay, reported beside the data loss as ConvNetJS does. */
export interface DecayLoss {
  l1: number;
  l2: number;
}

/** State that must survive a checkpoint for a resumed run to reach the same weights. */
export interface OptimizerState {
  method: OptimizerMethod;
  /** Updates applied so far. */
  step: number;
  /** First accumulator: momentum / velocity / squared-gradient sum / Adam's first moment. */
  gsum: Float32Array;
  /** Second accumulator: adadelta's squared-update sum / Adam's second moment. */
  xsum: Float32Array;
}

/**
 * The ConvNetJS trainer's update rules over a flat parameter vector. `grads` holds gradients summed over
 * the mini-batch; as in ConvNetJS, the step uses (decay gradient + summed gradient) / batchSize.
 * Adam's bias correction divides by (1 - beta^t) with t the update count (ConvNetJS multiplies, a bug).
 */
export class Optimizer {
  readonly state: OptimizerState;

  constructor(
    readonly options: OptimizerOptions,
    paramCount: number,
    state?: OptimizerState,
  ) {
    if (state && (state.gsum.length !== paramCount || state.method !== options.method)) {
      throw new UserError(`optimizer state is for ${state.method} over ${state.gsum.length} parameters, not ${options.method} over ${paramCount}`);
    }
    this.state = state ?? { method: options.method, step: 0, gsum: new Float32Array(paramCount), xsum: new Float32Array(paramCount) };
  }

  /**
   * Decay loss of the current parameters (before an update), as ConvNetJS reports it; weight decay
   * (PyTorch style) adds weightDecay / 2 * |p|^2 to the l2 part.
   */
  static decayLoss(params: Float32Array, ranges: ParamRange[], l1Decay: number, l2Decay: number, weightDecay = 0): DecayLoss {
    let l1 = 0;
    let l2 = 0;
    for (const r of ranges) {
      const l1d = l1Decay * r.l1DecayMul;
      const l2d = (l2Decay + weightDecay) * r.l2DecayMul;
      if (l1d === 0 && l2d === 0) continue;
      let s1 = 0;
      let s2 = 0;
      for (let j = r.offset; j < r.offset + r.length; j++) {
        s1 += Math.abs(params[j]);
        s2 += params[j] * params[j];
      }
      l1 += l1d * s1;
      l2 += (l2d * s2) / 2;
    }
    return { l1, l2 };
  }

  /**
   * Apply one update in place and zero the gradients. Returns the decay loss before the update.
   * `learningRate` is this step's rate (from a schedule); default the options' rate.
   */
  update(params: Float32Array, grads: Float32Array, ranges: ParamRange[], batchSize: number, learningRate = this.options.learningRate): DecayLoss {
    const o = this.options;
    const wd = o.weightDecay ?? 0;
    if (o.method === 'sgd' || o.method === 'nesterov') {
      const native = selectedNative();
      if (native) return this.nativeUpdate(native, params, grads, ranges, batchSize, learningRate);
    }
    const decay = Optimizer.decayLoss(params, ranges, o.l1Decay, o.l2Decay, wd);
    this.state.step += 1;
    const step = STEPS[o.method];
    for (const r of ranges) {
      // One tight loop per method and range: a method switch per parameter costs more than the update.
      const h: StepHyper = {
        lr: learningRate, l1: o.l1Decay * r.l1DecayMul, l2: o.l2Decay * r.l2DecayMul, wd: wd * r.l2DecayMul, invBatch: 1 / batchSize,
      };
      step(params, grads, this.state, o, r.offset, r.offset + r.length, h);
    }
    return decay;
  }

  private readonly decaySums = new Float64Array(2);

  /**
   * update() for sgd and nesterov on the native kernels: the same parameters bit for bit, with the
   * decay loss summed in the same pass (its sums in another order, so it may differ in the last bits).
   */
  private nativeUpdate(native: NativeKernels, params: Float32Array, grads: Float32Array, ranges: ParamRange[], batchSize: number, learningRate: number): DecayLoss {
    const o = this.options;
    const wd = o.weightDecay ?? 0;
    const { gsum } = this.state;
    const sums = this.decaySums;
    let l1 = 0;
    let l2 = 0;
    this.state.step += 1;
    for (const r of ranges) {
      const end = r.offset + r.length;
      native.sgdStep(
        params.subarray(r.offset, end), grads.subarray(r.offset, end), gsum.subarray(r.offset, end), learningRate, o.momentum,
        o.l1Decay * r.l1DecayMul, o.l2Decay * r.l2DecayMul, wd * r.l2DecayMul, 1 / batchSize, o.method === 'nesterov' ? 1 : 0, sums,
      );
      const l1d = o.l1Decay * r.l1DecayMul;
      const l2d = (o.l2Decay + wd) * r.l2DecayMul;
      if (l1d === 0 && l2d === 0) continue;
      l1 += l1d * sums[0];
      l2 += (l2d * sums[1]) / 2;
    }
    return { l1, l2 };
  }
}

/**
 * ConvNetJS's step gradient: decay gradients plus the batch-summed gradient, over the batch size; plus
 * PyTorch-style weight decay wd * p on the mean (coupled; adamw passes wd = 0 and decays separately).
 */
function stepGradient(p: number, summedGrad: number, l1: number, l2: number, wd: number, invBatch: number): number {
  // Without L1 decay, no sign test: the weights' signs are random, so the branch was mispredicted half
  // the time. The hyper-parameters come as numbers that the callers read from their object once, outside
  // their loops (V8 read the object's fields per parameter). resnet20's 272k parameters: 3.7 -> 1.8 ms
  // per update, time the worker threads wait.
  const l1Term = l1 === 0 ? 0 : l1 * (p > 0 ? 1 : -1);
  return (l2 * p + l1Term + summedGrad) * invBatch + wd * p;
}

/** One step's hyper-parameters for one parameter range (decays already times the range's multipliers). */
interface StepHyper {
  lr: number;
  l1: number;
  l2: number;
  wd: number;
  invBatch: number;
}

/** Updates params[begin, end) with stepGradient and zeroes grads[begin, end). */
type StepFn = (params: Float32Array, grads: Float32Array, s: OptimizerState, o: OptimizerOptions, begin: number, end: number, h: StepHyper) => void;

const STEPS: Record<OptimizerMethod, StepFn> = {
  sgd(params, grads, s, o, begin, end, h) {
    const { l1, l2, wd, invBatch } = h;
    const { gsum } = s;
    const lr = h.lr;
    const mom = o.momentum;
    for (let j = begin; j < end; j++) {
      const p = params[j];
      const g = stepGradient(p, grads[j], l1, l2, wd, invBatch);
      let dx: number;
      if (mom > 0) {
        dx = mom * gsum[j] - lr * g;
        gsum[j] = dx;
      } else {
        dx = -lr * g;
      }
      params[j] = p + dx;
      grads[j] = 0;
    }
  },
  nesterov(params, grads, s, o, begin, end, h) {
    const { l1, l2, wd, invBatch } = h;
    const { gsum } = s;
    const lr = h.lr;
    const mom = o.momentum;
    for (let j = begin; j < end; j++) {
      const p = params[j];
      const g = stepGradient(p, grads[j], l1, l2, wd, invBatch);
      const prev = gsum[j];
      const velocity = Math.fround(prev * mom + lr * g); // the stored value, without reading it back
      gsum[j] = velocity;
      params[j] = p + (mom * prev - (1 + mom) * velocity);
      grads[j] = 0;
    }
  },
  adagrad(params, grads, s, o, begin, end, h) {
    const { l1, l2, wd, invBatch } = h;
    const { gsum } = s;
    const lr = h.lr;
    for (let j = begin; j < end; j++) {
      const p = params[j];
      const g = stepGradient(p, grads[j], l1, l2, wd, invBatch);
      gsum[j] += g * g;
      params[j] = p + (-lr / Math.sqrt(gsum[j] + o.eps)) * g;
      grads[j] = 0;
    }
  },
  windowgrad(params, grads, s, o, begin, end, h) {
    const { l1, l2, wd, invBatch } = h;
    const { gsum } = s;
    const lr = h.lr;
    for (let j = begin; j < end; j++) {
      const p = params[j];
      const g = stepGradient(p, grads[j], l1, l2, wd, invBatch);
      gsum[j] = o.ro * gsum[j] + (1 - o.ro) * g * g;
      params[j] = p + (-lr / Math.sqrt(gsum[j] + o.eps)) * g;
      grads[j] = 0;
    }
  },
  adadelta(params, grads, s, o, begin, end, h) {
    const { l1, l2, wd, invBatch } = h;
    const { gsum, xsum } = s;
    for (let j = begin; j < end; j++) {
      const p = params[j];
      const g = stepGradient(p, grads[j], l1, l2, wd, invBatch);
      gsum[j] = o.ro * gsum[j] + (1 - o.ro) * g * g;
      const dx = -Math.sqrt((xsum[j] + o.eps) / (gsum[j] + o.eps)) * g;
      xsum[j] = o.ro * xsum[j] + (1 - o.ro) * dx * dx;
      params[j] = p + dx;
      grads[j] = 0;
    }
  },
  adam: adamStep,
  adamw(params, grads, s, o, begin, end, h) {
    // Decoupled weight decay: shrink first, then the Adam step on the gradient without it.
    const shrink = 1 - h.lr * h.wd;
    if (shrink !== 1) for (let j = begin; j < end; j++) params[j] *= shrink;
    adamStep(params, grads, s, o, begin, end, { ...h, wd: 0 });
  },
};

function adamStep(params: Float32Array, grads: Float32Array, s: OptimizerState, o: OptimizerOptions, begin: number, end: number, h: StepHyper): void {
  const { l1, l2, wd, invBatch } = h;
  const { gsum, xsum } = s;
  const lr = h.lr;
  const bias1 = 1 - Math.pow(o.beta1, s.step);
  const bias2 = 1 - Math.pow(o.beta2, s.step);
  for (let j = begin; j < end; j++) {
    const p = params[j];
    const g = stepGradient(p, grads[j], l1, l2, wd, invBatch);
    gsum[j] = gsum[j] * o.beta1 + (1 - o.beta1) * g;
    xsum[j] = xsum[j] * o.beta2 + (1 - o.beta2) * g * g;
    params[j] = p + (-lr * (gsum[j] / bias1)) / (Math.sqrt(xsum[j] / bias2) + o.eps);
    grads[j] = 0;
  }
}
