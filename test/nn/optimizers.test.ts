import { describe, expect, it } from 'vitest';
import type { ParamRange } from '../../src/nn/network.js';
import { nativeKernels } from '../../src/tensor/native.js';
import { restoreKernelsAfterEach } from '../helpers/kernels.js';
import { makeRng } from '../tensor/helpers.js';
import { defaultOptimizerOptions, Optimizer, OPTIMIZER_METHODS, optimizerOptionsProblem, optimizerStateProblem, type OptimizerMethod } from '../../src/nn/optimizers.js';

/**
 * Two updates of one weight p0 = 1 with a summed batch gradient of 0.5 each step, batch size 2,
 * L2 decay 0.1 and learning rate 0.1: the ConvNetJS step gradient is g = (0.1 * p + 0.5) / 2.
 * Expected values are worked out by hand below, one line per arithmetic step.
 */
function twoSteps(method: OptimizerMethod, extra: Partial<ReturnType<typeof defaultOptimizerOptions>> = {}): number[] {
  const opts = { ...defaultOptimizerOptions(method), learningRate: 0.1, l2Decay: 0.1, ...extra };
  const params = new Float32Array([1]);
  const grads = new Float32Array(1);
  const ranges: ParamRange[] = [{ layer: 1, name: 'weights', offset: 0, length: 1, l1DecayMul: 0, l2DecayMul: 1 }];
  const opt = new Optimizer(opts, 1);
  const out: number[] = [];
  for (let s = 0; s < 2; s++) {
    grads[0] = 0.5;
    opt.update(params, grads, ranges, 2);
    expect(grads[0]).toBe(0); // gradients are consumed
    out.push(params[0]);
  }
  return out;
}

const close = (actual: number[], expected: number[]) => expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, 6));

describe('optimizers, two steps by hand', () => {
  it('sgd with momentum 0.9', () => {
    // step 1: g = (0.1*1 + 0.5)/2 = 0.3; v = 0.9*0 - 0.1*0.3 = -0.03; p = 0.97
    // step 2: g = (0.097 + 0.5)/2 = 0.2985; v = 0.9*(-0.03) - 0.02985 = -0.05685; p = 0.91315
    close(twoSteps('sgd'), [0.97, 0.91315]);
  });

  it('plain sgd (momentum 0)', () => {
    // p = 1 - 0.1*0.3 = 0.97; then 0.97 - 0.1*0.2985 = 0.94015
    close(twoSteps('sgd', { momentum: 0 }), [0.97, 0.94015]);
  });

  it('nesterov', () => {
    // step 1: v = 0*0.9 + 0.1*0.3 = 0.03; dx = 0.9*0 - 1.9*0.03 = -0.057; p = 0.943
    // step 2: g = (0.0943 + 0.5)/2 = 0.29715; v = 0.027 + 0.029715 = 0.056715;
    //         dx = 0.9*0.03 - 1.9*0.056715 = -0.0807585; p = 0.8622415
    close(twoSteps('nesterov'), [0.943, 0.8622415]);
  });

  it('adagrad (eps 1e-6)', () => {
    // step 1: G = 0.09; dx = -0.1*0.3/sqrt(0.090001) = -0.099999444; p = 0.900000556
    // step 2: g = (0.0900000556 + 0.5)/2 = 0.2950000278; G = 0.09 + 0.08702501640 = 0.1770250164;
    //         dx = -0.1*0.2950000278/sqrt(0.1770260164) = -0.070113779; p = 0.829886777
    close(twoSteps('adagrad'), [0.900000556, 0.829886777]);
  });

  it('windowgrad (ro 0.95, eps 1e-6)', () => {
    // step 1: G = 0.05*0.09 = 0.0045; dx = -0.1*0.3/sqrt(0.004501) = -0.44716391; p = 0.55283609
    // step 2: g = (0.055283609 + 0.5)/2 = 0.27764180; G = 0.95*0.0045 + 0.05*0.27764180^2 = 0.00812925;
    //         dx = -0.1*0.27764180/sqrt(0.00813025) = -0.30791649; p = 0.24491960
    close(twoSteps('windowgrad'), [0.55283609, 0.2449196]);
  });

  it('adadelta (ro 0.95, eps 1e-6; no learning rate)', () => {
    // step 1: G = 0.0045; dx = -sqrt(1e-6/0.004501)*0.3 = -0.00447164; X = 0.05*dx^2 = 9.99778e-7; p = 0.99552836
    // step 2: g = (0.099552836 + 0.5)/2 = 0.2997764185; G = 0.004275 + 0.05*0.0898658999 = 0.008768295;
    //         dx = -sqrt((9.99778e-7 + 1e-6)/(0.008768295 + 1e-6))*0.2997764180 = -0.00452695; p = 0.99100141
    close(twoSteps('adadelta'), [0.99552836, 0.99100141]);
  });

  it('adam (beta1 0.9, beta2 0.999, eps 1e-8), bias-corrected', () => {
    // step 1: m = 0.03, v = 0.00009; m^ = 0.3, v^ = 0.09; dx = -0.1*0.3/(0.3 + 1e-8) = -0.0999999967; p = 0.9000000033
    // step 2: g = (0.09 + 0.5)/2 = 0.295; m = 0.027 + 0.0295 = 0.0565; v = 0.00008991 + 0.000087025 = 0.000176935;
    //         m^ = 0.0565/0.19 = 0.297368421; v^ = 0.000176935/0.001999 = 0.0885117559; sqrt = 0.297509253;
    //         dx = -0.1*0.297368421/0.297509263 = -0.0999526617; p = 0.8000473416
    close(twoSteps('adam', { learningRate: 0.1 }), [0.9000000033, 0.8000473416]);
  });

  it('honours L1 decay and per-layer decay multipliers, and reports decay loss as ConvNetJS does', () => {
    const opts = { ...defaultOptimizerOptions('sgd'), learningRate: 0.1, momentum: 0, l1Decay: 0.2, l2Decay: 0.1 };
    const params = new Float32Array([-2, 3]);
    const grads = new Float32Array([0, 0]);
    // Weight -2 decays with multipliers l1 x1, l2 x0.5; the bias 3 is never decayed (ConvNetJS multipliers 0).
    const ranges: ParamRange[] = [
      { layer: 1, name: 'weights', offset: 0, length: 1, l1DecayMul: 1, l2DecayMul: 0.5 },
      { layer: 1, name: 'biases', offset: 1, length: 1, l1DecayMul: 0, l2DecayMul: 0 },
    ];
    const decay = new Optimizer(opts, 2).update(params, grads, ranges, 1);
    // l1 loss = 0.2*|-2| = 0.4; l2 loss = 0.05*4/2 = 0.1
    expect(decay.l1).toBeCloseTo(0.4, 6);
    expect(decay.l2).toBeCloseTo(0.1, 6);
    // g = 0.05*(-2) + 0.2*(-1) = -0.3; p = -2 + 0.03 = -1.97
    expect(params[0]).toBeCloseTo(-1.97, 6);
    expect(params[1]).toBe(3);
  });
});

describe('weight decay (PyTorch style) and adamw', () => {
  const ranges: ParamRange[] = [
    { layer: 1, name: 'weights', offset: 0, length: 1, l1DecayMul: 0, l2DecayMul: 1 },
    { layer: 1, name: 'biases', offset: 1, length: 1, l1DecayMul: 0, l2DecayMul: 0 },
  ];

  it('sgd: weightDecay * p is added to the batch-mean gradient of decayed parameters only', () => {
    const opt = new Optimizer({ ...defaultOptimizerOptions('sgd'), learningRate: 0.1, momentum: 0, l2Decay: 0, weightDecay: 0.5 }, 2);
    const params = new Float32Array([1, 1]);
    // mean gradient 0.25 (summed 0.5 over batch 2): weights 1 - 0.1*(0.25 + 0.5*1) = 0.925; biases 1 - 0.1*0.25 = 0.975
    opt.update(params, new Float32Array([0.5, 0.5]), ranges, 2);
    expect(params[0]).toBeCloseTo(0.925, 6);
    expect(params[1]).toBeCloseTo(0.975, 6);
  });

  it('adamw: p *= 1 - lr * wd, then the Adam step on the gradient alone', () => {
    const o = { ...defaultOptimizerOptions('adamw'), learningRate: 0.1, l2Decay: 0, weightDecay: 0.5 };
    const params = new Float32Array([1, 1]);
    const adam = new Float32Array([1, 1]);
    new Optimizer(o, 2).update(params, new Float32Array([0.5, 0.5]), ranges, 2);
    new Optimizer({ ...o, method: 'adam', weightDecay: 0 }, 2).update(adam, new Float32Array([0.5, 0.5]), ranges, 2);
    // First Adam step moves by -lr * sign(g) (bias-corrected m / sqrt(v) = 1): 1 - 0.1 = 0.9.
    expect(adam[0]).toBeCloseTo(0.9, 5);
    expect(params[0]).toBeCloseTo(0.95 - 0.1, 5); // shrunk by 1 - 0.05 first
    expect(params[1]).toBeCloseTo(0.9, 5); // biases are not decayed
  });

  it('a step learning rate overrides the options', () => {
    const opt = new Optimizer({ ...defaultOptimizerOptions('sgd'), learningRate: 0.1, momentum: 0, l2Decay: 0 }, 2);
    const params = new Float32Array([1, 1]);
    opt.update(params, new Float32Array([2, 2]), ranges, 2, 0.01);
    expect(params[0]).toBeCloseTo(0.99, 6);
  });
});

describe('degenerate settings and damaged state are refused, naming the setting or accumulator', () => {
  const base = (method: OptimizerMethod) => defaultOptimizerOptions(method);

  it('beta1 / beta2 below 1 for adam and adamw, ro below 1 for adadelta and windowgrad, eps above 0 where it divides', () => {
    for (const m of ['adam', 'adamw'] as const) {
      expect(optimizerOptionsProblem({ ...base(m), beta1: 1 })?.[0]).toBe('beta1');
      expect(optimizerOptionsProblem({ ...base(m), beta2: 1 })?.[0]).toBe('beta2');
      expect(optimizerOptionsProblem({ ...base(m), eps: 0 })?.[0]).toBe('eps');
    }
    for (const m of ['adadelta', 'windowgrad'] as const) {
      expect(optimizerOptionsProblem({ ...base(m), ro: 1 })?.[0]).toBe('ro');
      expect(optimizerOptionsProblem({ ...base(m), ro: 1, eps: 0 })?.[0]).toBe('ro');
      expect(optimizerOptionsProblem({ ...base(m), eps: 0 })?.[0]).toBe('eps');
    }
    expect(optimizerOptionsProblem({ ...base('adagrad'), eps: 0 })?.[0]).toBe('eps');
    // Settings a method does not use are not its problem; the defaults are fine everywhere.
    expect(optimizerOptionsProblem({ ...base('sgd'), eps: 0, beta1: 1, ro: 1 })).toBeNull();
    expect(optimizerOptionsProblem({ ...base('adagrad'), beta2: 1 })).toBeNull();
    for (const m of OPTIMIZER_METHODS) expect(optimizerOptionsProblem(base(m)), m).toBeNull();
  });

  it('what the refused settings would do: adam with beta1 1 and windowgrad with ro 1, eps 0 turn weights into NaN', () => {
    const ranges: ParamRange[] = [{ layer: 1, name: 'weights', offset: 0, length: 2, l1DecayMul: 0, l2DecayMul: 0 }];
    for (const o of [{ ...base('adam'), beta1: 1 }, { ...base('windowgrad'), ro: 1, eps: 0 }]) {
      const params = new Float32Array([1, 1]);
      new Optimizer(o, 2).update(params, new Float32Array([0.5, 0]), ranges, 1);
      expect(Array.from(params).some((v) => !Number.isFinite(v)), o.method).toBe(true);
    }
  });

  it('an optimizer state with NaN, infinity, or a negative sum of squares', () => {
    const ok = { method: 'adam' as const, gsum: new Float32Array([0.1, -0.2, 0]), xsum: new Float32Array([0.1, 0.2, 0]) };
    expect(optimizerStateProblem(ok)).toBeNull();
    expect(optimizerStateProblem({ ...ok, gsum: new Float32Array([0, NaN, Infinity]) })).toEqual(['gsum', '2 of 3 values are NaN or infinite (the first at index 1: NaN)']);
    expect(optimizerStateProblem({ ...ok, xsum: new Float32Array([0, 1, -Infinity]) })?.[0]).toBe('xsum');
    expect(optimizerStateProblem({ ...ok, xsum: new Float32Array([0, -1e-3, 2]) })?.[1]).toMatch(/^1 of 3 values are negative \(the first at index 1: -0\.001/);
    // sgd's momentum is signed, and adam's first moment too.
    expect(optimizerStateProblem({ method: 'sgd', gsum: new Float32Array([-1]), xsum: new Float32Array([-1]) })).toBeNull();
    expect(optimizerStateProblem({ method: 'adagrad', gsum: new Float32Array([-1]), xsum: new Float32Array([0]) })?.[0]).toBe('gsum');
  });
});

describe.runIf(nativeKernels() !== null)('sgd and nesterov on the native kernels', () => {
  restoreKernelsAfterEach();
  // Ranges of odd lengths (the 4-lane loop and its tail), with and without each decay.
  const ranges: ParamRange[] = [
    { layer: 1, name: 'weights', offset: 0, length: 37, l1DecayMul: 1, l2DecayMul: 1 },
    { layer: 1, name: 'biases', offset: 37, length: 3, l1DecayMul: 0, l2DecayMul: 0 },
    { layer: 2, name: 'weights', offset: 40, length: 1021, l1DecayMul: 0, l2DecayMul: 0.5 },
  ];
  const count = 1061;
  function run(kernels: string, method: OptimizerMethod, extra: Partial<ReturnType<typeof defaultOptimizerOptions>>) {
    process.env.CNNVIZ_KERNELS = kernels;
    const rng = makeRng(7);
    const params = Float32Array.from({ length: count }, () => rng.next() * 4 - 2);
    params[0] = 0;
    params[1] = -0;
    params[45] = 1e-30;
    const opt = new Optimizer({ ...defaultOptimizerOptions(method), learningRate: 0.05, l2Decay: 1e-3, ...extra }, count);
    const grads = new Float32Array(count);
    const losses: number[] = [];
    for (let s = 0; s < 4; s++) {
      for (let j = 0; j < count; j++) grads[j] = (rng.next() - 0.5) * 3;
      const decay = opt.update(params, grads, ranges, 32, 0.05 / (s + 1));
      losses.push(decay.l1, decay.l2);
      expect(grads.every((g) => g === 0)).toBe(true);
    }
    return { params, gsum: opt.state.gsum, losses };
  }
  const settings: [OptimizerMethod, Partial<ReturnType<typeof defaultOptimizerOptions>>][] = [
    ['sgd', {}],
    ['sgd', { momentum: 0 }],
    ['sgd', { l1Decay: 1e-3, weightDecay: 5e-4 }],
    ['nesterov', { weightDecay: 5e-4 }],
  ];
  for (const [method, extra] of settings) {
    it(`${method} ${JSON.stringify(extra)}: the parameters and momenta bit for bit as the TypeScript loop`, () => {
      const js = run('js', method, extra);
      const native = run('native', method, extra);
      // Compared as bits: -0 and +0 differ.
      expect(new Uint32Array(native.params.buffer)).toEqual(new Uint32Array(js.params.buffer));
      expect(new Uint32Array(native.gsum.buffer)).toEqual(new Uint32Array(js.gsum.buffer));
      // The decay loss is summed in another order: equal to rounding.
      native.losses.forEach((l, i) => expect(l).toBeCloseTo(js.losses[i], 9));
    });
  }
});
