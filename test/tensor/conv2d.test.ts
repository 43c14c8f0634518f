import { describe, expect, it } from 'vitest';
import {
  conv2dBackward,
  conv2dForward,
  convOutSize,
  makeConv2dDims,
  type Conv2dDims,
} from '../../src/tensor/conv2d.js';
import { refConv2dForward } from './reference.js';
import { Workspace } from '../../src/tensor/workspace.js';
import {
  expectForwardClose,
  expectGradClose,
  makeRng,
  numericGrad,
  project,
  randomArray,
} from './helpers.js';

interface Case {
  label: string;
  d: Conv2dDims;
}

// Awkward geometries: non-square input and kernel, stride 2 and 3, padding, odd channel counts, batch > 1,
// a 1x1 (pointwise, no im2col) conv, a kernel larger than the input, padding >= kernel size.
const cases: Case[] = [
  { label: 'n3 c3 7x5 k3x2 s2 p1 -> 5', d: makeConv2dDims(3, 3, 7, 5, 5, 3, 2, 2, 1) },
  { label: 'n2 c5 4x3 k1x1 s1 p0 -> 3 (pointwise)', d: makeConv2dDims(2, 5, 4, 3, 3, 1, 1, 1, 0) },
  { label: 'n2 c2 6x9 k4x1 s3 p2 -> 3', d: makeConv2dDims(2, 2, 6, 9, 3, 4, 1, 3, 2) },
  { label: 'n1 c3 3x2 k5x5 s1 p2 -> 2 (kernel > input)', d: makeConv2dDims(1, 3, 3, 2, 2, 5, 5, 1, 2) },
  { label: 'n2 c1 5x4 k1x2 s2 p1 -> 4 (pad >= kH)', d: makeConv2dDims(2, 1, 5, 4, 4, 1, 2, 2, 1) },
  // Grouped and depthwise (ResNeXt, MobileNet): each group reads only its slice of the input channels.
  { label: 'n2 c6 5x7 k3x3 s1 p1 -> 4, 2 groups', d: { ...makeConv2dDims(2, 6, 5, 7, 4, 3, 3, 1, 1), groups: 2 } },
  { label: 'n2 c4 6x5 k3x2 s2 p1 -> 4, depthwise', d: { ...makeConv2dDims(2, 4, 6, 5, 4, 3, 2, 2, 1), groups: 4 } },
  { label: 'n2 c3 4x4 k3x3 s1 p1 -> 6, depthwise x2 multiplier', d: { ...makeConv2dDims(2, 3, 4, 4, 6, 3, 3, 1, 1), groups: 3 } },
  { label: 'n2 c6 3x4 k1x1 -> 9, 3 groups (pointwise)', d: { ...makeConv2dDims(2, 6, 3, 4, 9, 1, 1, 1, 0), groups: 3 } },
  // Padding that differs by side (top 2, left 0, bottom 1, right 1) and dilation 2 (taps 2 apart), with groups.
  { label: 'n2 c2 6x7 k3x1 pads t2 l0 b1 r1 s2 -> 3', d: { n: 2, inC: 2, inH: 6, inW: 7, outC: 3, kH: 3, kW: 1, stride: 2, pad: 0, padTop: 2, padLeft: 0, outH: convOutSize(6, 3, 2, 2, false, 1), outW: convOutSize(7, 1, 2, 0, false, 1) } },
  { label: 'n2 c4 7x6 k3x3 dilation 2 pad 2 -> 4, 2 groups', d: { n: 2, inC: 4, inH: 7, inW: 6, outC: 4, kH: 3, kW: 3, stride: 1, pad: 2, dilation: 2, groups: 2, outH: convOutSize(7, 3, 1, 2, false, 2, 2), outW: convOutSize(6, 3, 1, 2, false, 2, 2) } },
];

function tensors(d: Conv2dDims, seed: number) {
  const rng = makeRng(seed);
  const input = randomArray(rng, d.n * d.inC * d.inH * d.inW);
  const weights = randomArray(rng, (d.outC * d.inC * d.kH * d.kW) / (d.groups ?? 1));
  const bias = randomArray(rng, d.outC);
  const outCount = d.n * d.outC * d.outH * d.outW;
  const r = randomArray(rng, outCount); // projection: L = sum(r * out), so dL/dout = r
  return { input, weights, bias, r, outCount };
}

describe('convOutSize', () => {
  it('is floor((in + 2 pad - k) / stride) + 1', () => {
    expect(convOutSize(32, 5, 1, 2)).toBe(32);
    expect(convOutSize(7, 3, 2, 1)).toBe(4);
    expect(convOutSize(5, 2, 2, 1)).toBe(3);
    expect(convOutSize(6, 4, 3, 2)).toBe(3);
    expect(convOutSize(32, 2, 2, 0)).toBe(16);
    // Different padding at the end, dilation (a 3-tap kernel 2 apart spans 5), ceil mode.
    expect(convOutSize(6, 3, 2, 2, false, 1)).toBe(4);
    expect(convOutSize(7, 3, 1, 2, false, 2, 2)).toBe(7);
    expect(convOutSize(16, 3, 2, 0, true)).toBe(8);
    expect(convOutSize(16, 3, 2, 0)).toBe(7);
  });
});

describe('conv2dForward vs float64 reference', () => {
  for (const { label, d } of [...cases, { label: 'CIFAR conv1 n1 c3 32x32 k5 p2 -> 16', d: makeConv2dDims(1, 3, 32, 32, 16, 5, 5, 1, 2) }]) {
    it(label, () => {
      const t = tensors(d, 1);
      const ws = new Workspace();
      const out = new Float32Array(t.outCount).fill(NaN);
      conv2dForward(d, t.input, t.weights, t.bias, out, ws);
      expectForwardClose(`conv2d ${label}`, out, refConv2dForward(d, t.input, t.weights, t.bias));
    });
  }
});

describe('conv2dBackward finite-difference gradient checks', () => {
  for (const { label, d } of cases) {
    it(label, () => {
      const t = tensors(d, 2);
      const ws = new Workspace();
      const inputGrad = new Float32Array(t.input.length); // accumulated into (+=)
      const weightGrad = new Float32Array(t.weights.length);
      const biasGrad = new Float32Array(t.bias.length);
      conv2dBackward(d, t.input, t.weights, t.r, inputGrad, weightGrad, biasGrad, ws);

      const L = (input: ArrayLike<number>, weights: ArrayLike<number>, bias: ArrayLike<number>): number =>
        project(refConv2dForward(d, input, weights, bias), t.r);
      expectGradClose(`conv2d ${label} d/dinput`, inputGrad, numericGrad((x) => L(x, t.weights, t.bias), t.input));
      expectGradClose(`conv2d ${label} d/dweights`, weightGrad, numericGrad((w) => L(t.input, w, t.bias), t.weights));
      expectGradClose(`conv2d ${label} d/dbias`, biasGrad, numericGrad((b) => L(t.input, t.weights, b), t.bias));
    });
  }
});

describe('conv2dBackward conventions', () => {
  const d = cases[0].d;

  it('accumulates parameter gradients and the input gradient (+=)', () => {
    const t = tensors(d, 3);
    const ws = new Workspace();
    const g1 = new Float32Array(t.input.length);
    const w1 = new Float32Array(t.weights.length);
    const b1 = new Float32Array(t.bias.length);
    conv2dBackward(d, t.input, t.weights, t.r, g1, w1, b1, ws);

    const g2 = new Float32Array(t.input.length).fill(123);
    const w2 = new Float32Array(t.weights.length).fill(0.5);
    const b2 = new Float32Array(t.bias.length).fill(-2);
    conv2dBackward(d, t.input, t.weights, t.r, g2, w2, b2, ws);
    conv2dBackward(d, t.input, t.weights, t.r, g2, w2, b2, ws);
    for (let i = 0; i < g1.length; i++) expect(g2[i]).toBeCloseTo(123 + 2 * g1[i], 4);
    for (let i = 0; i < w1.length; i++) expect(w2[i]).toBeCloseTo(0.5 + 2 * w1[i], 4);
    for (let i = 0; i < b1.length; i++) expect(b2[i]).toBeCloseTo(-2 + 2 * b1[i], 4);
  });

  it('micro-batches sum to the full batch (per-sample independence)', () => {
    const t = tensors(d, 4);
    const ws = new Workspace();
    const wFull = new Float32Array(t.weights.length);
    const bFull = new Float32Array(t.bias.length);
    conv2dBackward(d, t.input, t.weights, t.r, null, wFull, bFull, ws);
    const wSplit = new Float32Array(t.weights.length);
    const bSplit = new Float32Array(t.bias.length);
    const inPer = d.inC * d.inH * d.inW;
    const outPer = d.outC * d.outH * d.outW;
    for (let s = 0; s < d.n; s++) {
      const one = { ...d, n: 1 };
      conv2dBackward(
        one,
        t.input.subarray(s * inPer, (s + 1) * inPer),
        t.weights,
        t.r.subarray(s * outPer, (s + 1) * outPer),
        null,
        wSplit,
        bSplit,
        ws,
      );
    }
    for (let i = 0; i < wFull.length; i++) expect(wSplit[i]).toBeCloseTo(wFull[i], 5);
    for (let i = 0; i < bFull.length; i++) expect(bSplit[i]).toBeCloseTo(bFull[i], 5);
  });

  it('inputGrad = null skips the input gradient and leaves parameter gradients unchanged', () => {
    for (const { d: dd } of cases) {
      const t = tensors(dd, 5);
      const ws = new Workspace();
      const wA = new Float32Array(t.weights.length);
      const bA = new Float32Array(t.bias.length);
      conv2dBackward(dd, t.input, t.weights, t.r, new Float32Array(t.input.length), wA, bA, ws);
      const wB = new Float32Array(t.weights.length);
      const bB = new Float32Array(t.bias.length);
      conv2dBackward(dd, t.input, t.weights, t.r, null, wB, bB, ws);
      expect(Array.from(wB)).toEqual(Array.from(wA));
      expect(Array.from(bB)).toEqual(Array.from(bA));
    }
  });

  it('allocates no workspace after the first call', () => {
    const t = tensors(d, 6);
    const ws = new Workspace();
    const out = new Float32Array(t.outCount);
    const g = new Float32Array(t.input.length);
    const w = new Float32Array(t.weights.length);
    const b = new Float32Array(t.bias.length);
    conv2dForward(d, t.input, t.weights, t.bias, out, ws);
    conv2dBackward(d, t.input, t.weights, t.r, g, w, b, ws);
    const bytes = ws.bytes();
    expect(bytes).toBeGreaterThan(0);
    conv2dForward(d, t.input, t.weights, t.bias, out, ws);
    conv2dBackward(d, t.input, t.weights, t.r, g, w, b, ws);
    expect(ws.bytes()).toBe(bytes);
  });
});
