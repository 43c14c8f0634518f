import { describe, expect, it } from 'vitest';
import {
  clipActivation,
  eluActivation,
  erf,
  geluActivation,
  hardSigmoidActivation,
  hardSwishActivation,
  type InputActivation,
  siluActivation,
  softplusActivation,
  leakyReluBackward,
  leakyReluForward,
  reluBackward,
  reluForward,
  sigmoidBackward,
  sigmoidForward,
  tanhBackward,
  tanhForward,
} from '../../src/tensor/activations.js';
import { refLeakyRelu, refRelu, refSigmoid, refTanh } from './reference.js';
import { awayFromZero, expectForwardClose, expectGradClose, makeRng, numericGrad, project, randomArray } from './helpers.js';

type Fwd = (input: Float32Array, output: Float32Array, count: number) => void;
type Bwd = (output: Float32Array, outputGrad: Float32Array, inputGrad: Float32Array | null, count: number) => void;

const kernels: [string, Fwd, Bwd, (x: ArrayLike<number>) => Float64Array][] = [
  ['relu', reluForward, reluBackward, refRelu],
  ['sigmoid', sigmoidForward, sigmoidBackward, refSigmoid],
  ['tanh', tanhForward, tanhBackward, refTanh],
];

describe('activations', () => {
  for (const [name, fwd, bwd, ref] of kernels) {
    it(`${name}: forward vs reference, gradient check, count respected, in place`, () => {
      const rng = makeRng(name.length);
      const count = 97;
      // |x| >= 0.05 keeps ReLU inputs away from its kink at 0; range +-3 exercises sigmoid/tanh tails.
      const input = awayFromZero(rng, count + 3, 0.05).map((x) => x * 2.5);
      const r = randomArray(rng, count);
      const out = new Float32Array(count + 3).fill(99);
      fwd(input, out, count);
      expectForwardClose(`${name}`, out.subarray(0, count), ref(input.subarray(0, count)));
      expect(Array.from(out.subarray(count))).toEqual([99, 99, 99]); // only `count` elements touched

      const inputGrad = new Float32Array(count); // accumulated into (+=)
      bwd(out, r, inputGrad, count);
      const x = input.subarray(0, count);
      expectGradClose(`${name} d/dinput`, inputGrad, numericGrad((xx) => project(ref(xx), r), x));

      // Forward in place (output === input). Backward adds into its input gradient, so it cannot be in place.
      const inPlace = x.slice();
      fwd(inPlace, inPlace, count);
      expect(Array.from(inPlace)).toEqual(Array.from(out.subarray(0, count)));
      bwd(inPlace, r, null, count);
    });
  }

  for (const alpha of [0.01, 0.3, -0.5]) {
    it(`leakyrelu alpha=${alpha}: forward vs reference, gradient check from the input, count respected`, () => {
      const rng = makeRng(17);
      const count = 61;
      const input = awayFromZero(rng, count + 2, 0.05).map((x) => x * 2);
      const r = randomArray(rng, count);
      const out = new Float32Array(count + 2).fill(99);
      leakyReluForward(input, out, count, alpha);
      expectForwardClose(`leakyrelu ${alpha}`, out.subarray(0, count), refLeakyRelu(input.subarray(0, count), alpha));
      expect(Array.from(out.subarray(count))).toEqual([99, 99]);
      const inputGrad = new Float32Array(count);
      leakyReluBackward(input, r, inputGrad, count, alpha);
      const x = input.subarray(0, count);
      expectGradClose(`leakyrelu ${alpha} d/dinput`, inputGrad, numericGrad((xx) => project(refLeakyRelu(xx, alpha), r), x));
      leakyReluBackward(input, r, null, count, alpha);
    });
  }
});

describe('the zoo activations (backward from the input)', () => {
  it('erf agrees with tabulated values to float64 accuracy on both sides of the series / fraction switch', () => {
    const table: [number, number][] = [
      // Python's math.erf.
      [0, 0], [0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [1, 0.8427007929497149], [2, 0.9953222650189527],
      [2.4999, 0.9995928300996666], [2.5, 0.999593047982555], [3, 0.9999779095030014], [4, 0.9999999845827421], [-1.5, -0.9661051464753108],
    ];
    for (const [x, v] of table) expect(Math.abs(erf(x) - v), `erf(${x})`).toBeLessThan(1e-14);
  });

  it('each forward matches its formula and each backward matches finite differences of the forward', () => {
    const cases: [string, InputActivation, (x: number) => number][] = [
      ['relu6', clipActivation(0, 6), (x) => Math.min(6, Math.max(0, x))],
      ['hardsigmoid', hardSigmoidActivation(1 / 6, 0.5), (x) => Math.min(1, Math.max(0, x / 6 + 0.5))],
      ['hardswish', hardSwishActivation, (x) => (x * Math.min(6, Math.max(0, x + 3))) / 6],
      ['silu', siluActivation, (x) => x / (1 + Math.exp(-x))],
      ['gelu', geluActivation, (x) => 0.5 * x * (1 + erf(x / Math.SQRT2))],
      ['elu', eluActivation(0.7), (x) => (x > 0 ? x : 0.7 * (Math.exp(x) - 1))],
      ['softplus', softplusActivation, (x) => Math.log(1 + Math.exp(x))],
    ];
    const xs = Float32Array.from([-7.3, -3.4, -2.5, -1.1, -0.3, 0.2, 0.9, 2.2, 3.6, 6.5, 8.1]);
    for (const [name, act, f] of cases) {
      const y = new Float32Array(xs.length);
      act.forward(xs, y, xs.length);
      xs.forEach((x, i) => expect(y[i], `${name}(${x})`).toBeCloseTo(f(x), 5));
      const dy = Float32Array.from(xs, (_, i) => 0.5 + i / 10);
      const dx = new Float32Array(xs.length).fill(1); // accumulates
      act.backward(xs, dy, dx, xs.length);
      xs.forEach((x, i) => {
        const h = 1e-4;
        const numeric = (f(x + h) - f(x - h)) / (2 * h);
        expect(dx[i] - 1, `${name}'(${x})`).toBeCloseTo(dy[i] * numeric, 4);
      });
    }
  });
});
