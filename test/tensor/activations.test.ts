import { describe, expect, it } from 'vitest';
import {
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
