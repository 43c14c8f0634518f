import { UserError } from '../util/errors.js';
import type { ParamRange } from './network.js';

export const OPTIMIZER_METHODS = ['sgd', 'nesterov', 'adagrad', 'adadelta', 'windowgrad', 'adam'] as const;
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
}

/** Defaults per method; ConvNetJS's where it has them. */
export function defaultOptimizerOptions(method: OptimizerMethod): OptimizerOptions {
  return {
    method,
    learningRate: method === 'adadelta' ? 1 : method === 'adam' ? 0.001 : 0.01,
    momentum: 0.9,
    l1Decay: 0,
    l2Decay: 0,
    ro: 0.95,
    eps: method === 'adam' ? 1e-8 : 1e-6,
    beta1: 0.9,
    beta2: 0.999,
  };
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

  /** Decay loss of the current parameters (before an update), as ConvNetJS reports it. */
  static decayLoss(params: Float32Array, ranges: ParamRange[], l1Decay: number, l2Decay: number): DecayLoss {
    let l1 = 0;
    let l2 = 0;
    for (const r of ranges) {
      const l1d = l1Decay * r.l1DecayMul;
      const l2d = l2Decay * r.l2DecayMul;
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

  /** Apply one update in place and zero the gradients. Returns the decay loss before the update. */
  update(params: Float32Array, grads: Float32Array, ranges: ParamRange[], batchSize: number): DecayLoss {
    const o = this.options;
    const decay = Optimizer.decayLoss(params, ranges, o.l1Decay, o.l2Decay);
    this.state.step += 1;
    for (const r of ranges) {
      // One tight loop per method and range: a method switch per parameter costs more than the update.
      const step = STEPS[o.method];
      step(params, grads, this.state, o, r.offset, r.offset + r.length, o.l1Decay * r.l1DecayMul, o.l2Decay * r.l2DecayMul, 1 / batchSize);
    }
    return decay;
  }
}

/** ConvNetJS's step gradient: decay gradients plus the batch-summed gradient, over the batch size. */
function stepGradient(p: number, summedGrad: number, l1: number, l2: number, invBatch: number): number {
  return (l2 * p + l1 * (p > 0 ? 1 : -1) + summedGrad) * invBatch;
}

/** Updates params[begin, end) with stepGradient and zeroes grads[begin, end). */
type StepFn = (
  params: Float32Array, grads: Float32Array, s: OptimizerState, o: OptimizerOptions,
  begin: number, end: number, l1: number, l2: number, invBatch: number,
) => void;

const STEPS: Record<OptimizerMethod, StepFn> = {
  sgd(params, grads, s, o, begin, end, l1, l2, invBatch) {
    const { gsum } = s;
    const lr = o.learningRate;
    const mom = o.momentum;
    for (let j = begin; j < end; j++) {
      const p = params[j];
      const g = stepGradient(p, grads[j], l1, l2, invBatch);
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
  nesterov(params, grads, s, o, begin, end, l1, l2, invBatch) {
    const { gsum } = s;
    const lr = o.learningRate;
    const mom = o.momentum;
    for (let j = begin; j < end; j++) {
      const p = params[j];
      const g = stepGradient(p, grads[j], l1, l2, invBatch);
      const prev = gsum[j];
      gsum[j] = prev * mom + lr * g;
      params[j] = p + (mom * prev - (1 + mom) * gsum[j]);
      grads[j] = 0;
    }
  },
  adagrad(params, grads, s, o, begin, end, l1, l2, invBatch) {
    const { gsum } = s;
    const lr = o.learningRate;
    for (let j = begin; j < end; j++) {
      const p = params[j];
      const g = stepGradient(p, grads[j], l1, l2, invBatch);
      gsum[j] += g * g;
      params[j] = p + (-lr / Math.sqrt(gsum[j] + o.eps)) * g;
      grads[j] = 0;
    }
  },
  windowgrad(params, grads, s, o, begin, end, l1, l2, invBatch) {
    const { gsum } = s;
    const lr = o.learningRate;
    for (let j = begin; j < end; j++) {
      const p = params[j];
      const g = stepGradient(p, grads[j], l1, l2, invBatch);
      gsum[j] = o.ro * gsum[j] + (1 - o.ro) * g * g;
      params[j] = p + (-lr / Math.sqrt(gsum[j] + o.eps)) * g;
      grads[j] = 0;
    }
  },
  adadelta(params, grads, s, o, begin, end, l1, l2, invBatch) {
    const { gsum, xsum } = s;
    for (let j = begin; j < end; j++) {
      const p = params[j];
      const g = stepGradient(p, grads[j], l1, l2, invBatch);
      gsum[j] = o.ro * gsum[j] + (1 - o.ro) * g * g;
      const dx = -Math.sqrt((xsum[j] + o.eps) / (gsum[j] + o.eps)) * g;
      xsum[j] = o.ro * xsum[j] + (1 - o.ro) * dx * dx;
      params[j] = p + dx;
      grads[j] = 0;
    }
  },
  adam(params, grads, s, o, begin, end, l1, l2, invBatch) {
    const { gsum, xsum } = s;
    const lr = o.learningRate;
    const bias1 = 1 - Math.pow(o.beta1, s.step);
    const bias2 = 1 - Math.pow(o.beta2, s.step);
    for (let j = begin; j < end; j++) {
      const p = params[j];
      const g = stepGradient(p, grads[j], l1, l2, invBatch);
      gsum[j] = gsum[j] * o.beta1 + (1 - o.beta1) * g;
      xsum[j] = xsum[j] * o.beta2 + (1 - o.beta2) * g * g;
      params[j] = p + (-lr * (gsum[j] / bias1)) / (Math.sqrt(xsum[j] / bias2) + o.eps);
      grads[j] = 0;
    }
  },
};
