/**
 * The WebAssembly SIMD kernels (src/tensor/wasm/kernels.ts via src/tensor/wasm.ts) against the plain
 * TypeScript kernels, which are the reference path (themselves checked against float64 references and
 * finite differences in the other tests here). Same awkward shapes as the gradient checks: non-square,
 * stride 2 and 3, padding (also >= kernel), odd channel counts, 1x1, kernel larger than the input, batch > 1.
 * The two paths sum in different orders, so they agree to float32 rounding, not bit for bit. Entries of
 * long dot products of random signs can cancel to ~0, where an element-wise relative error means nothing,
 * so each case prints and bounds the normwise relative error max|a - b| / max|b| (1e-5, about 100 float32
 * roundings: the gemm and conv cases land at 1e-7 .. 1e-6); a wrong index or missing term is off by O(1).
 */
import { describe, expect, it } from 'vitest';
import { Network } from '../../src/nn/network.js';
import type { PassContext } from '../../src/nn/layers/layer.js';
import { parseSpec, presetSpec } from '../../src/nn/spec.js';
import { conv2dBackward, conv2dForward, makeConv2dDims, type Conv2dDims } from '../../src/tensor/conv2d.js';
import { allocConvWasm, COL_CACHE_SAMPLES, colStride, DOT_FILTER_MIN_OUT_W, conv2dBackwardWasm, conv2dForwardWasm, fusedInputGrad, implicitForward, winogradConv, winogradTile } from '../../src/tensor/conv2d-wasm.js';
import { sgemm } from '../../src/tensor/gemm.js';
import { reluBackward, reluForward } from '../../src/tensor/activations.js';
import { makePool2dDims, maxPool2dBackward, maxPool2dForward } from '../../src/tensor/pool2d.js';
import { kernelKind, kernelsLabel, selectedNative, WasmKernels, wasmModule, wasmVariant } from '../../src/tensor/wasm.js';
import { nativeKernels, nativeUnavailableReason } from '../../src/tensor/native.js';
import { Workspace } from '../../src/tensor/workspace.js';
import { batchNormBackward, batchNormForwardEval, batchNormForwardTrain, invStdOf, type BatchNormDims } from '../../src/tensor/batchnorm.js';
import { allocBatchNormWasm, batchNormBackwardWasm, batchNormForwardEvalWasm, batchNormForwardTrainWasm } from '../../src/tensor/batchnorm-wasm.js';
import { addForward } from '../../src/tensor/elementwise.js';
import { makeRng, maxRelErr, randomArray } from './helpers.js';
import { withKernels } from '../helpers/kernels.js';

const TOL = 1e-5;

/**
 * The kernel sets the convolution and whole-network cases run on: the wasm kernels alone, and with the
 * native ones in place of those they implement (when built for this CPU; CNNVIZ_EXPECT_NATIVE=1, set by
 * CI on x86-64 with AVX2 and FMA, makes their absence a failure rather than a skip).
 */
type Variant = 'wasm' | 'native';
const VARIANTS: Variant[] = nativeKernels() ? ['wasm', 'native'] : ['wasm'];
let current: Variant = 'wasm';

function agree(label: string, fast: ArrayLike<number>, ref: ArrayLike<number>, tol = TOL): void {
  expect(fast.length).toBe(ref.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(fast[i] - ref[i]);
    if (!(d <= diff)) diff = d; // NaN propagates as a failure
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  const err = diff / scale;
  console.log(`${current === 'native' ? 'native + ' : ''}wasm (${wasmVariant()}) vs js ${label}: normwise rel err ${err.toExponential(2)}, element-wise ${maxRelErr(fast, ref).toExponential(2)} (n=${ref.length})`);
  expect(scale).toBeGreaterThan(0);
  expect(err).toBeLessThanOrEqual(tol);
}

function kernels(variant: Variant = 'wasm'): WasmKernels {
  const m = wasmModule();
  if (!m) throw new Error('the WebAssembly kernels are not built (npm run build)');
  current = variant;
  return new WasmKernels(m, variant === 'native' ? nativeKernels() : null);
}

/** Copy `a` into wasm memory; returns its address. */
function put(wk: WasmKernels, a: Float32Array): number {
  const p = wk.alloc(a.length);
  wk.heap.set(a, p / 4);
  return p;
}

const get = (wk: WasmKernels, p: number, n: number): Float32Array => wk.heap.slice(p / 4, p / 4 + n);

describe('kernel selection', () => {
  it('defaults to native (when built) over wasm, and CNNVIZ_KERNELS=wasm / js select the others', () => {
    withKernels(undefined, () => {
      expect(kernelKind()).toBe('wasm');
      expect(selectedNative()).toBe(nativeKernels());
      expect(kernelsLabel()).toBe(`${nativeKernels() ? 'native avx2+fma, ' : ''}wasm ${wasmVariant()}`);
      expect(new Network(presetSpec('convnetjs-cifar10')).wasm?.native ?? null).toBe(nativeKernels());
    });
    withKernels('wasm', () => {
      expect(kernelKind()).toBe('wasm');
      expect(selectedNative()).toBeNull();
      expect(kernelsLabel()).toBe(`wasm ${wasmVariant()}`);
      expect(new Network(presetSpec('convnetjs-cifar10')).wasm?.native).toBeNull();
    });
    withKernels('js', () => {
      expect(kernelKind()).toBe('js');
      expect(kernelsLabel()).toBe('js');
      expect(new Network(presetSpec('convnetjs-cifar10')).wasm).toBeNull();
    });
    withKernels('fortran', () => expect(() => kernelKind()).toThrow(/native, wasm or js/));
  });

  it('CNNVIZ_KERNELS=native runs the native kernels, or says why it cannot', () => {
    withKernels('native', () => {
      if (nativeKernels()) {
        expect(selectedNative()).toBe(nativeKernels());
        expect(kernelsLabel()).toMatch(/^native avx2\+fma, wasm /);
      } else {
        expect(() => kernelKind()).toThrow(/native kernels are unavailable/);
      }
    });
  });

  it.runIf(process.env.CNNVIZ_EXPECT_NATIVE === '1')('the native kernels are built and load (CNNVIZ_EXPECT_NATIVE=1)', () => {
    expect(nativeUnavailableReason()).toBe('');
    expect(nativeKernels()?.supported).toBe(true);
  });

  it.runIf(nativeKernels() !== null)('a native kernel refuses addresses outside the memory', () => {
    const wk = kernels('native');
    const d = makeConv2dDims(1, 8, 16, 16, 8, 3, 3, 1, 1);
    const buf = allocConvWasm(wk, d, 1);
    const wg = buf.winograd!;
    const size = wk.memory.buffer.byteLength;
    expect(() => wk.x.winograd4Forward(1, 8, 16, 16, 8, buf.weights, buf.bias, size + 64, 0,
      wg.uForward, wg.uBackward, wg.padded, wg.patches, wg.products, wg.rowsPerChunk, wg.tileCapacity, 0)).toThrow(/outside/);
    expect(() => nativeKernels()!.winograd4Forward(new ArrayBuffer(8), 1)).toThrow(/number of arguments/);
  });
});

for (const variant of VARIANTS) describe(`${variant}: wasm sgemm vs TypeScript sgemm`, () => {
  // Odd sizes cross every edge: partial row/column tiles, K beyond one slice, M beyond one block.
  const shapes: [number, number, number][] = [[1, 1, 1], [5, 13, 7], [20, 75, 1024], [130, 27, 300], [400, 64, 20], [3, 770, 9]];
  for (const [M, N, K] of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        it(`M${M} N${N} K${K} ${transA ? 'At' : 'A'} ${transB ? 'Bt' : 'B'}`, () => {
          const rng = makeRng(M * 7 + N * 3 + K);
          const A = randomArray(rng, M * K);
          const B = randomArray(rng, K * N);
          const C0 = randomArray(rng, M * N);
          const lda = transA ? M : K;
          const ldb = transB ? K : N;
          for (const [alpha, beta] of [[1, 0], [0.5, 1], [1, -0.25]]) {
            const ref = C0.slice();
            sgemm(transA, transB, M, N, K, alpha, A, 0, lda, B, 0, ldb, beta, ref, 0, N);
            const wk = kernels(variant);
            const a = put(wk, A);
            const b = put(wk, B);
            const c = put(wk, beta === 0 ? new Float32Array(M * N).fill(NaN) : C0);
            wk.x.sgemm(transA ? 1 : 0, transB ? 1 : 0, M, N, K, alpha, a, lda, b, ldb, beta, c, N);
            agree(`sgemm M${M} N${N} K${K} tA=${transA} tB=${transB} alpha=${alpha} beta=${beta}`, get(wk, c, M * N), ref);
          }
        });
      }
    }
  }
});

for (const variant of VARIANTS) describe(`${variant}: wasm conv2d vs TypeScript conv2d`, () => {
  const cases: { label: string; d: Conv2dDims }[] = [
    { label: 'n3 c3 7x5 k3x2 s2 p1 -> 5', d: makeConv2dDims(3, 3, 7, 5, 5, 3, 2, 2, 1) },
    { label: 'n2 c5 4x3 k1x1 s1 p0 -> 3 (pointwise)', d: makeConv2dDims(2, 5, 4, 3, 3, 1, 1, 1, 0) },
    { label: 'n2 c2 6x9 k4x1 s3 p2 -> 3', d: makeConv2dDims(2, 2, 6, 9, 3, 4, 1, 3, 2) },
    { label: 'n1 c3 3x2 k5x5 s1 p2 -> 2 (kernel > input)', d: makeConv2dDims(1, 3, 3, 2, 2, 5, 5, 1, 2) },
    { label: 'n2 c1 5x4 k1x2 s2 p1 -> 4 (pad >= kH)', d: makeConv2dDims(2, 1, 5, 4, 4, 1, 2, 2, 1) },
    { label: 'n3 c7 11x13 k3x3 s1 p1 -> 9', d: makeConv2dDims(3, 7, 11, 13, 9, 3, 3, 1, 1) },
    { label: 'CIFAR conv1 n2 c3 32x32 k5 p2 -> 16 (implicit forward, col2im input gradient)', d: makeConv2dDims(2, 3, 32, 32, 16, 5, 5, 1, 2) },
    { label: 'CIFAR conv2 n2 c16 16x16 k5 p2 -> 20', d: makeConv2dDims(2, 16, 16, 16, 20, 5, 5, 1, 2) },
    { label: 'CIFAR conv3 n3 c20 8x8 k5 p2 -> 20 (padded col rows)', d: makeConv2dDims(3, 20, 8, 8, 20, 5, 5, 1, 2) },
    { label: 'n2 c8 5x8 k2x3 s1 p1 -> 300 (fused input gradient, outC beyond one K slice)', d: makeConv2dDims(2, 8, 5, 8, 300, 2, 3, 1, 1) },
    { label: 'n1 c4 24x24 k3x3 s1 p1 -> 5 (fused input gradient, P beyond one N block)', d: makeConv2dDims(1, 4, 24, 24, 5, 3, 3, 1, 1) },
    { label: 'n2 c4 3x4 k5x5 s1 p4 -> 3 (fused input gradient, pad and kernel > input)', d: makeConv2dDims(2, 4, 3, 4, 3, 5, 5, 1, 4) },
    { label: 'n2 c12 9x16 k5x5 s1 p2 -> 7 (fused input gradient, more tiles than one packed block)', d: makeConv2dDims(2, 12, 9, 16, 7, 5, 5, 1, 2) },
    { label: 'n1 c24 8x8 k5x5 s1 p2 -> 6 (fused input gradient, K beyond one N block of the weight gradient)', d: makeConv2dDims(1, 24, 8, 8, 6, 5, 5, 1, 2) },
    { label: 'n2 c5 3x32 k3x3 s1 p1 -> 3 (implicit forward, dot-product weight gradient with odd outC and K)', d: makeConv2dDims(2, 5, 3, 32, 3, 3, 3, 1, 1) },
    { label: `n${COL_CACHE_SAMPLES + 1} c2 8x16 k3x3 s1 p1 -> 4 (padded col rows, more samples than kept)`, d: makeConv2dDims(COL_CACHE_SAMPLES + 1, 2, 8, 16, 4, 3, 3, 1, 1) },
    { label: `n${COL_CACHE_SAMPLES + 3} c2 5x6 k3x3 s1 p1 -> 3 (more samples than unfolded ones kept)`, d: makeConv2dDims(COL_CACHE_SAMPLES + 3, 2, 5, 6, 3, 3, 3, 1, 1) },
    { label: 'n2 c8 12x8 k3 p1 -> 4 (winograd: 4 tiles per row, chunks of whole samples)', d: makeConv2dDims(2, 8, 12, 8, 4, 3, 3, 1, 1) },
    { label: 'n3 c12 6x16 k3 p1 -> 8 (winograd: odd tile rows per sample, a chunk spans samples)', d: makeConv2dDims(3, 12, 6, 16, 8, 3, 3, 1, 1) },
    { label: 'n2 c16 40x24 k3 p1 -> 20 (winograd: several chunks per sample)', d: makeConv2dDims(2, 16, 40, 24, 20, 3, 3, 1, 1) },
    { label: 'n5 c64 8x12 k3 p1 -> 64 (winograd: last chunk partial, tiles not a multiple of 8)', d: makeConv2dDims(5, 64, 12, 8, 64, 3, 3, 1, 1) },
    { label: 'n2 c8 16x16 k3 p1 -> 4 (winograd 4x4: 4 tiles per row, one chunk)', d: makeConv2dDims(2, 8, 16, 16, 4, 3, 3, 1, 1) },
    { label: 'n3 c12 12x32 k3 p1 -> 8 (winograd 4x4: two groups per tile row, odd tile rows, a chunk spans samples)', d: makeConv2dDims(3, 12, 12, 32, 8, 3, 3, 1, 1) },
    { label: 'n2 c16 32x32 k3 p1 -> 20 (winograd 4x4: several chunks per sample)', d: makeConv2dDims(2, 16, 32, 32, 20, 3, 3, 1, 1) },
    { label: 'n3 c32 16x48 k3 p1 -> 28 (winograd 4x4: last chunk partial, 3 groups per row)', d: makeConv2dDims(3, 32, 16, 48, 28, 3, 3, 1, 1) },
    { label: 'n3 c8 16x8 k3 p1 -> 12 (winograd 4x4: 2x2 tiles per vector, two bands per sample)', d: makeConv2dDims(3, 8, 16, 8, 12, 3, 3, 1, 1) },
    { label: 'n7 c64 8x8 k3 p1 -> 64 (winograd 4x4: 2x2 tiles per vector, last chunk partial)', d: makeConv2dDims(7, 64, 8, 8, 64, 3, 3, 1, 1) },
    // The native transforms take two groups of 4 tiles per 256-bit vector: a group with no partner
    // (one band of 4 tiles; an odd last group) runs alone, and rows too wide for two strips on the
    // stack go one band at a time.
    { label: 'n1 c8 4x16 k3 p1 -> 4 (winograd 4x4: a single band of 4 tiles)', d: makeConv2dDims(1, 8, 4, 16, 4, 3, 3, 1, 1) },
    { label: 'n1 c8 8x8 k3 p1 -> 8 (winograd 4x4: 2x2 tiles per vector, a single band)', d: makeConv2dDims(1, 8, 8, 8, 8, 3, 3, 1, 1) },
    { label: 'n1 c8 8x1040 k3 p1 -> 4 (winograd 4x4: 1040-wide rows, one band at a time, 65 groups per row)', d: makeConv2dDims(1, 8, 8, 1040, 4, 3, 3, 1, 1) },
  ];
  for (const { label, d } of cases) {
    it(label, () => {
      if (label.includes('fused')) expect(fusedInputGrad(d) && implicitForward(d)).toBe(true);
      if (label.includes('dot-product')) expect(implicitForward(d) && d.outW >= DOT_FILTER_MIN_OUT_W).toBe(true);
      expect(winogradConv(d)).toBe(label.includes('winograd'));
      if (winogradConv(d)) expect(winogradTile(d)).toBe(label.includes('winograd 4x4') ? 4 : 2);
      const rng = makeRng(d.inC * 31 + d.inH);
      const inCount = d.n * d.inC * d.inH * d.inW;
      const outCount = d.n * d.outC * d.outH * d.outW;
      const input = randomArray(rng, inCount);
      const weights = randomArray(rng, d.outC * d.inC * d.kH * d.kW);
      const bias = randomArray(rng, d.outC);
      const dy = randomArray(rng, outCount);
      const wg0 = randomArray(rng, weights.length); // gradients accumulate onto whatever is there
      const bg0 = randomArray(rng, bias.length);

      const ws = new Workspace();
      const out = new Float32Array(outCount);
      conv2dForward(d, input, weights, bias, out, ws);
      // Both add into a gradient that already holds something (another branch's share).
      const dx0 = Float32Array.from({ length: inCount }, (_, i) => ((i * 7) % 5) * 0.25 - 0.5);
      const dx = dx0.slice();
      const wg = wg0.slice();
      const bg = bg0.slice();
      conv2dBackward(d, input, weights, dy, dx, wg, bg, ws);

      const wk = kernels(variant);
      const buf = allocConvWasm(wk, d, d.n);
      const pIn = put(wk, input);
      const pOut = put(wk, new Float32Array(outCount).fill(NaN));
      const pDy = put(wk, dy);
      const pDx = put(wk, dx0);
      wk.heap.set(weights, buf.weights / 4);
      wk.heap.set(bias, buf.bias / 4);
      wk.heap.set(wg0, buf.weightGrad / 4);
      wk.heap.set(bg0, buf.biasGrad / 4);
      conv2dForwardWasm(wk, d, pIn, pOut, buf);
      conv2dBackwardWasm(wk, d, pIn, pDy, pDx, buf);
      agree(`conv2d ${label} forward`, get(wk, pOut, outCount), out);
      agree(`conv2d ${label} d/dinput`, get(wk, pDx, inCount), dx);
      agree(`conv2d ${label} d/dweights (accumulated)`, get(wk, buf.weightGrad, weights.length), wg);
      agree(`conv2d ${label} d/dbias (accumulated)`, get(wk, buf.biasGrad, bias.length), bg);

      // Backward without a forward first (nothing cached) gives the same weight gradient.
      const buf2 = allocConvWasm(wk, d, d.n);
      wk.heap.set(weights, buf2.weights / 4);
      wk.heap.set(wg0, buf2.weightGrad / 4);
      wk.heap.set(bg0, buf2.biasGrad / 4);
      conv2dBackwardWasm(wk, d, pIn, pDy, -1, buf2);
      expect(get(wk, buf2.weightGrad, weights.length)).toEqual(get(wk, buf.weightGrad, weights.length));
    });
  }
});

for (const variant of VARIANTS) describe(`${variant}: Winograd weight transforms are reused per weights version (weightsKey)`, () => {
  for (const [label, d] of [
    ['F(4x4)', makeConv2dDims(2, 8, 16, 16, 8, 3, 3, 1, 1)],
    ['F(2x2)', makeConv2dDims(2, 8, 12, 8, 8, 3, 3, 1, 1)],
  ] as const) {
    it(`${label}: a new key repacks, the same key reuses the transform`, () => {
      expect(winogradTile(d)).toBe(label === 'F(4x4)' ? 4 : 2);
      const rng = makeRng(11);
      const inCount = d.n * d.inC * d.inH * d.inW;
      const outCount = d.n * d.outC * d.outH * d.outW;
      const input = randomArray(rng, inCount);
      const dy = randomArray(rng, outCount);
      const bias = new Float32Array(d.outC);
      const wk = kernels(variant);
      const buf = allocConvWasm(wk, d, d.n);
      const pIn = put(wk, input);
      const pOut = put(wk, new Float32Array(outCount));
      const pDy = put(wk, dy);
      const pDx = put(wk, new Float32Array(inCount));
      const pass = (weights: Float32Array, key: number) => {
        wk.heap.set(weights, buf.weights / 4);
        wk.heap.fill(0, buf.weightGrad / 4, buf.weightGrad / 4 + weights.length);
        wk.heap.fill(0, pDx / 4, pDx / 4 + inCount);
        conv2dForwardWasm(wk, d, pIn, pOut, buf, key);
        conv2dBackwardWasm(wk, d, pIn, pDy, pDx, buf, key);
        return { out: get(wk, pOut, outCount), dx: get(wk, pDx, inCount), dw: get(wk, buf.weightGrad, weights.length) };
      };
      const reference = (weights: Float32Array) => {
        const out = new Float32Array(outCount);
        const dx = new Float32Array(inCount);
        const dw = new Float32Array(weights.length);
        conv2dForward(d, input, weights, bias, out, new Workspace());
        conv2dBackward(d, input, weights, dy, dx, dw, new Float32Array(d.outC), new Workspace());
        return { out, dx, dw };
      };
      const w1 = randomArray(rng, d.outC * d.inC * 9);
      const w2 = randomArray(rng, w1.length);
      for (const [got, want] of [[pass(w1, 1), reference(w1)], [pass(w1, 1), reference(w1)], [pass(w2, 2), reference(w2)]] as const) {
        agree(`${label} keyed forward`, got.out, want.out);
        agree(`${label} keyed d/dinput`, got.dx, want.dx);
        agree(`${label} keyed d/dweights`, got.dw, want.dw);
      }
      // The same key with other weights keeps the transform of the first: the key is the caller's promise.
      const stale = pass(w1, 2);
      expect(maxRelErr(stale.out, reference(w2).out)).toBeLessThan(1e-3);
      // No key: always transformed again.
      agree(`${label} unkeyed forward`, pass(w1, NaN).out, reference(w1).out);
    });
  }
});

describe('native im2col and col2imAdd vs a direct reference', () => {
  // Stride 2 with output rows of 8+ (the vector step) and not (tails only), odd sizes and channel counts,
  // pad 0 / 1 / 2, 1x1, stride 1 and 3 (the other row steps), and a plane too large for the stack.
  const shapes: [string, Conv2dDims][] = [
    ['resnet 16 -> 3x3 s2 p1, 32x32', makeConv2dDims(1, 16, 32, 32, 1, 3, 3, 2, 1)],
    ['c3 7x5 3x3 s2 p1 (rows of 3)', makeConv2dDims(1, 3, 7, 5, 1, 3, 3, 2, 1)],
    ['c5 19x37 3x3 s2 p1 (rows of 19)', makeConv2dDims(1, 5, 19, 37, 1, 3, 3, 2, 1)],
    ['c6 17x17 1x1 s2 p0', makeConv2dDims(1, 6, 17, 17, 1, 1, 1, 2, 0)],
    ['c7 20x21 3x3 s2 p0', makeConv2dDims(1, 7, 20, 21, 1, 3, 3, 2, 0)],
    ['c2 13x40 5x4 s2 p2', makeConv2dDims(1, 2, 13, 40, 1, 5, 4, 2, 2)],
    ['c3 9x13 3x3 s1 p1', makeConv2dDims(1, 3, 9, 13, 1, 3, 3, 1, 1)],
    ['c2 6x29 4x1 s3 p2', makeConv2dDims(1, 2, 6, 29, 1, 4, 1, 3, 2)],
    ['c2 100x100 3x3 s2 p1 (plane beyond the stack buffer)', makeConv2dDims(1, 2, 100, 100, 1, 3, 3, 2, 1)],
  ];
  for (const [label, d] of shapes) {
    it.runIf(nativeKernels() !== null)(label, () => {
      const { inC, inH, inW, kH, kW, stride, pad, outH, outW } = d;
      const P = outH * outW;
      const K = inC * kH * kW;
      const ld = colStride(P) + 3; // a row stride beyond P: the kernels must use it
      const rng = makeRng(K * 13 + P);
      const x = randomArray(rng, inC * inH * inW);
      const col = randomArray(rng, K * ld);
      const grad0 = randomArray(rng, x.length);
      // The reference: col[(c, ky, kx)][oy, ox] = x[c, oy * stride - pad + ky, ox * stride - pad + kx], 0 outside;
      // col2imAdd adds every entry back where it was read from.
      const wantCol = new Float32Array(K * P);
      const wantGrad = Float64Array.from(grad0);
      for (let c = 0; c < inC; c++) {
        for (let ky = 0; ky < kH; ky++) {
          for (let kx = 0; kx < kW; kx++) {
            const row = (c * kH + ky) * kW + kx;
            for (let oy = 0; oy < outH; oy++) {
              for (let ox = 0; ox < outW; ox++) {
                const iy = oy * stride - pad + ky;
                const ix = ox * stride - pad + kx;
                if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) continue;
                wantCol[row * P + oy * outW + ox] = x[(c * inH + iy) * inW + ix];
                wantGrad[(c * inH + iy) * inW + ix] += col[row * ld + oy * outW + ox];
              }
            }
          }
        }
      }
      const wk = kernels('native');
      const px = put(wk, x);
      const pcol = put(wk, new Float32Array(K * ld).fill(NaN));
      wk.x.im2col(inC, inH, inW, kH, kW, stride, pad, outH, outW, px, pcol, ld);
      const gotCol = get(wk, pcol, K * ld);
      for (let r = 0; r < K; r++) expect(Array.from(gotCol.subarray(r * ld, r * ld + P)), `im2col row ${r}`).toEqual(Array.from(wantCol.subarray(r * P, r * P + P)));
      const pc = put(wk, col);
      const pg = put(wk, grad0);
      wk.x.col2imAdd(inC, inH, inW, kH, kW, stride, pad, outH, outW, pc, ld, pg);
      agree(`col2imAdd ${label}`, get(wk, pg, x.length), Float32Array.from(wantGrad));
    });
  }
});

describe('conv col row stride', () => {
  it('pads rows whose length is a multiple of 64 floats (4 KiB-aliasing strides), and only those', () => {
    expect(colStride(1024)).toBe(1040);
    expect(colStride(64)).toBe(80);
    expect(colStride(25)).toBe(25);
    expect(colStride(100)).toBe(100);
  });
});

for (const variant of VARIANTS) describe(`${variant}: wasm relu vs TypeScript relu`, () => {
  it('is bit-identical, including -0 and odd lengths', () => {
    const rng = makeRng(5);
    const count = 1031;
    const x = randomArray(rng, count);
    x[0] = -0;
    x[1] = 0;
    const g = randomArray(rng, count);
    const y = new Float32Array(count);
    reluForward(x, y, count);
    const dx0 = randomArray(rng, count); // both add into what is there
    const dx = dx0.slice();
    reluBackward(y, g, dx, count);
    const wk = kernels(variant);
    const px = put(wk, x);
    const py = put(wk, new Float32Array(count));
    const pg = put(wk, g);
    const pdx = put(wk, dx0);
    wk.x.reluForward(px, py, count);
    wk.x.reluBackward(py, pg, pdx, count);
    expect(Object.is(get(wk, py, count)[0], 0)).toBe(true);
    expect(get(wk, py, count)).toEqual(y);
    expect(get(wk, pdx, count)).toEqual(dx);
  });
});

describe('wasm max pool vs TypeScript max pool', () => {
  const cases = [
    { label: 'n2 c3 32x32 2x2 s2 (SIMD path)', d: makePool2dDims(2, 3, 32, 32, 2, 2, 2, 0) },
    { label: 'n3 c5 8x9 2x2 s2 (odd width: general path)', d: makePool2dDims(3, 5, 8, 9, 2, 2, 2, 0) },
    { label: 'n2 c2 7x5 3x2 s2 p1', d: makePool2dDims(2, 2, 7, 5, 3, 2, 2, 1) },
    { label: 'n1 c3 6x6 3x3 s3 p2 (windows only in padding)', d: makePool2dDims(1, 3, 6, 6, 3, 3, 3, 2) },
  ];
  for (const { label, d } of cases) {
    it(`${label}: bit-identical outputs, argmax and gradients (ties and NaN included)`, () => {
      const rng = makeRng(d.c * 13 + d.inW);
      const inCount = d.n * d.c * d.inH * d.inW;
      const outCount = d.n * d.c * d.outH * d.outW;
      // Coarse values make ties common (the first maximum wins); a few NaN never win.
      const x = new Float32Array(inCount).map(() => Math.round(rng.next() * 4) - 2);
      for (let i = 0; i < inCount; i += 17) x[i] = NaN;
      x[1] = x[2] = x[inCount - 1] = -Infinity;
      const dy = randomArray(rng, outCount);
      const y = new Float32Array(outCount);
      const am = new Int32Array(outCount);
      maxPool2dForward(d, x, y, am);
      const dx0 = Float32Array.from({ length: inCount }, (_, i) => ((i * 3) % 4) * 0.5 - 0.75);
      const dx = dx0.slice();
      maxPool2dBackward(d, dy, am, dx);

      const wk = kernels();
      const px = put(wk, x);
      const py = put(wk, new Float32Array(outCount).fill(NaN));
      const pam = wk.alloc(outCount);
      const pdy = put(wk, dy);
      const pdx = put(wk, dx0);
      wk.x.maxPoolForward(d.n * d.c, d.inH, d.inW, d.kH, d.kW, d.stride, d.pad, d.outH, d.outW, px, py, pam);
      wk.x.maxPoolBackward(outCount, inCount, pdy, pam, pdx);
      expect(new Int32Array(wk.memory.buffer, pam, outCount)).toEqual(am);
      expect(get(wk, py, outCount)).toEqual(y);
      expect(get(wk, pdx, inCount)).toEqual(dx);
    });
  }
});

for (const variant of VARIANTS) describe(`${variant}: whole network on wasm vs TypeScript kernels`, () => {
  function run(kind: 'js' | Variant, defs: unknown[] | null, n: number) {
    return withKernels(kind, () => {
      const spec = defs ? parseSpec(defs, 'wasm-test') : presetSpec('convnetjs-cifar10');
      const net = new Network(spec);
      expect(net.wasm === null).toBe(kind === 'js');
      if (net.wasm) expect(net.wasm.native === null).toBe(kind === 'wasm');
      current = kind === 'native' ? 'native' : 'wasm';
      net.initialize(4);
      const rng = makeRng(9);
      const [c, h, w] = spec.shapes[0];
      const x = randomArray(rng, n * c * h * w, -0.5, 0.5);
      const labels = Int32Array.from({ length: n }, (_, i) => i % net.outputSize);
      const ctx: PassContext = { training: true, ws: net.ws, seed: 1, step: 0, firstSample: 0 };
      net.zeroGrads();
      const probs = net.forward(x, n, ctx).slice(0, n * net.outputSize);
      const loss = net.backward({ labels }, ctx, true);
      return { probs, loss, grads: net.grads.slice(), inputGrad: net.actGrads[0].slice(0, x.length) };
    });
  }

  const awkward = [
    { type: 'input', out_sx: 9, out_sy: 7, out_depth: 3 },
    { type: 'conv', sx: 3, filters: 5, stride: 2, pad: 1, activation: 'relu' },
    { type: 'conv', sx: 1, filters: 3, stride: 1, pad: 0, activation: 'relu' },
    { type: 'pool', sx: 2, stride: 2 },
    { type: 'conv', sx: 2, filters: 7, stride: 1, pad: 1, activation: 'tanh' },
    { type: 'softmax', num_classes: 4 },
  ];
  for (const [label, defs, n] of [['convnetjs-cifar10, batch 3', null, 3], ['awkward (non-square, stride 2, 1x1, odd channels), batch 5', awkward, 5]] as const) {
    it(label, () => {
      const js = run('js', defs as unknown[] | null, n);
      const wasm = run(variant, defs as unknown[] | null, n);
      agree(`network ${label} probabilities`, wasm.probs, js.probs);
      agree(`network ${label} parameter gradients`, wasm.grads, js.grads);
      agree(`network ${label} input gradient`, wasm.inputGrad, js.inputGrad);
      expect(Math.abs(wasm.loss - js.loss) / js.loss).toBeLessThan(1e-5);
    });
  }
});

for (const variant of VARIANTS) describe(`${variant}: batch norm and add on wasm vs the TypeScript kernels`, () => {
  // Spatial sizes around the native kernels' 16- and 8-float steps and their tails.
  const cases: BatchNormDims[] = [
    { n: 3, c: 5, spatial: 18 },
    { n: 4, c: 6, spatial: 1 },
    { n: 2, c: 4, spatial: 64 },
    { n: 2, c: 3, spatial: 31 },
  ];
  for (const d of cases) {
    for (const affine of [true, false]) {
      it(`n${d.n} c${d.c} spatial ${d.spatial} ${affine ? 'affine' : 'no affine'}: training and evaluation, forward and backward`, () => {
        const rng = makeRng(d.spatial + d.c);
        const count = d.n * d.c * d.spatial;
        const input = randomArray(rng, count, -2, 3);
        const dy = randomArray(rng, count);
        const gamma = affine ? randomArray(rng, d.c, 0.5, 1.5) : null;
        const beta = affine ? randomArray(rng, d.c) : null;
        const eps = 1e-5;
        const wk = kernels(variant);
        const pin = put(wk, input);
        const pdy = put(wk, dy);
        const pout = wk.alloc(count);
        const pdx = put(wk, new Float32Array(count).fill(0.5));
        const buf = allocBatchNormWasm(wk, d.c);
        const stats = () => [new Float32Array(d.c), new Float32Array(d.c), new Float32Array(d.c)] as const;
        const [m1, v1, s1] = stats();
        const [m2, v2, s2] = stats();
        const out = new Float32Array(count);
        batchNormForwardTrain(d, input, gamma, beta, eps, out, m1, v1, s1);
        batchNormForwardTrainWasm(wk, d, pin, gamma, beta, eps, pout, buf, m2, v2, s2);
        agree(`bn train forward ${d.c}x${d.spatial}`, get(wk, pout, count), out);
        agree('bn batch mean', m2, m1);
        agree('bn batch variance', v2, v1);
        const dx = new Float32Array(count).fill(0.5);
        const gg = [new Float32Array(d.c).fill(1), new Float32Array(d.c).fill(1)];
        const bg = [new Float32Array(d.c).fill(1), new Float32Array(d.c).fill(1)];
        batchNormBackward(d, true, input, gamma, m1, s1, dy, dx, gg[0], bg[0]);
        batchNormBackwardWasm(wk, d, true, pin, gamma, m1, s1, pdy, pdx, gg[1], bg[1], buf);
        agree('bn train dx', get(wk, pdx, count), dx);
        agree('bn train dgamma', gg[1], gg[0]);
        agree('bn train dbeta', bg[1], bg[0]);
        // Evaluation with running statistics.
        const rm = randomArray(rng, d.c);
        const rv = randomArray(rng, d.c, 0.5, 2);
        batchNormForwardEval(d, input, gamma, beta, eps, rm, rv, out);
        batchNormForwardEvalWasm(wk, d, pin, gamma, beta, eps, rm, rv, pout, buf);
        agree('bn eval forward', get(wk, pout, count), out);
        const is = new Float32Array(d.c);
        invStdOf(rv, eps, is);
        batchNormBackward(d, false, input, gamma, rm, is, dy, dx, null, null);
        batchNormBackwardWasm(wk, d, false, pin, gamma, rm, is, pdy, pdx, null, null, buf);
        agree('bn eval dx (accumulated onto the training dx)', get(wk, pdx, count), dx);
      });
    }
  }

  if (variant === 'native') {
    for (const d of cases) {
      it(`n${d.n} c${d.c} spatial ${d.spatial}: batch norm fused with the ReLU after it, bit for bit as the two layers one after the other`, () => {
        const rng = makeRng(d.spatial * 7 + d.c);
        const count = d.n * d.c * d.spatial;
        const input = randomArray(rng, count, -2, 3);
        const reluGrad = randomArray(rng, count);
        const gamma = randomArray(rng, d.c, 0.5, 1.5);
        const beta = randomArray(rng, d.c);
        const wk = kernels(variant);
        const pin = put(wk, input);
        const pg = put(wk, reluGrad);
        const buf = allocBatchNormWasm(wk, d.c);
        const stats = () => [new Float32Array(d.c), new Float32Array(d.c), new Float32Array(d.c)] as const;
        for (const training of [true, false]) {
          const rm = randomArray(rng, d.c);
          const rv = randomArray(rng, d.c, 0.5, 2);
          // Unfused: batch norm, ReLU, ReLU backward into a zeroed gradient, batch norm backward.
          const [m, v, is] = stats();
          const bnOut = wk.alloc(count);
          const reluOut = wk.alloc(count);
          if (training) batchNormForwardTrainWasm(wk, d, pin, gamma, beta, 1e-5, bnOut, buf, m, v, is);
          else batchNormForwardEvalWasm(wk, d, pin, gamma, beta, 1e-5, rm, rv, bnOut, buf);
          wk.x.reluForward(bnOut, reluOut, count);
          const bnGrad = put(wk, new Float32Array(count));
          wk.x.reluBackward(reluOut, pg, bnGrad, count);
          const mean = training ? m : rm;
          if (!training) invStdOf(rv, 1e-5, is);
          const dx = put(wk, new Float32Array(count).fill(0.25));
          const gg = [new Float32Array(d.c), new Float32Array(d.c)];
          const bg = [new Float32Array(d.c), new Float32Array(d.c)];
          batchNormBackwardWasm(wk, d, training, pin, gamma, mean, is, bnGrad, dx, gg[0], bg[0], buf);
          // Fused.
          const [m2, v2, is2] = stats();
          const fusedOut = wk.alloc(count);
          if (training) batchNormForwardTrainWasm(wk, d, pin, gamma, beta, 1e-5, fusedOut, buf, m2, v2, is2, true);
          else batchNormForwardEvalWasm(wk, d, pin, gamma, beta, 1e-5, rm, rv, fusedOut, buf, true);
          expect(get(wk, fusedOut, count)).toEqual(get(wk, reluOut, count));
          expect(get(wk, fusedOut, count).some((y) => y === 0) && get(wk, fusedOut, count).some((y) => y > 0)).toBe(true);
          if (training) expect([m2, v2, is2]).toEqual([m, v, is]);
          const dx2 = put(wk, new Float32Array(count).fill(0.25));
          batchNormBackwardWasm(wk, d, training, pin, gamma, mean, training ? is2 : is, pg, dx2, gg[1], bg[1], buf, fusedOut);
          expect(get(wk, dx2, count)).toEqual(get(wk, dx, count));
          expect(gg[1]).toEqual(gg[0]);
          expect(bg[1]).toEqual(bg[0]);
        }
      });
    }

    it('add fused with the ReLU after it, as add then ReLU', () => {
      const rng = makeRng(4);
      const count = 39;
      const wk = kernels(variant);
      const pa = put(wk, randomArray(rng, count));
      const pb = put(wk, randomArray(rng, count));
      const sum = wk.alloc(count);
      const relu = wk.alloc(count);
      const fused = wk.alloc(count);
      wk.x.addTwo(count, pa, pb, sum);
      wk.x.reluForward(sum, relu, count);
      wk.fused!.addRelu(count, pa, pb, fused);
      expect(get(wk, fused, count)).toEqual(get(wk, relu, count));
      expect(get(wk, fused, count).filter((y) => y === 0).length).toBeGreaterThan(3);
    });
  } else {
    it('the wasm kernels alone have no fused kernels (the layers then run unfused)', () => {
      expect(kernels(variant).fused).toBeNull();
    });
  }

  it('addTwo', () => {
    const rng = makeRng(3);
    const count = 39; // two 16-float steps and a tail
    const a = randomArray(rng, count);
    const b = randomArray(rng, count);
    const wk = kernels(variant);
    const pa = put(wk, a);
    const pb = put(wk, b);
    const po = wk.alloc(count);
    wk.x.addTwo(count, pa, pb, po);
    const ref = new Float32Array(count);
    addForward(count, [a, b], ref);
    expect(Array.from(get(wk, po, count))).toEqual(Array.from(ref));
  });
});

for (const variant of VARIANTS) describe(`${variant}: 3x3 convolutions of the ResNets on wasm vs the TypeScript kernels (gradients added onto existing ones)`, () => {
  const shapes: [string, Conv2dDims][] = [
    ['16 -> 16, 32x32', makeConv2dDims(2, 16, 32, 32, 16, 3, 3, 1, 1)],
    ['32 -> 32, 16x16', makeConv2dDims(2, 32, 16, 16, 32, 3, 3, 1, 1)],
    ['64 -> 64, 8x8 (every tile at a border)', makeConv2dDims(3, 64, 8, 8, 64, 3, 3, 1, 1)],
    ['16 -> 16, 32x32, micro-batch 32 (winograd chunks as in training)', makeConv2dDims(32, 16, 32, 32, 16, 3, 3, 1, 1)],
    ['32 -> 64, stride 2', makeConv2dDims(2, 32, 16, 16, 64, 3, 3, 2, 1)],
    ['16 -> 32, 1x1 stride 2', makeConv2dDims(2, 16, 32, 32, 32, 1, 1, 2, 0)],
  ];
  for (const [label, d] of shapes) {
    it(label, () => {
      const rng = makeRng(d.inC + d.outH);
      const inCount = d.n * d.inC * d.inH * d.inW;
      const outCount = d.n * d.outC * d.outH * d.outW;
      const input = randomArray(rng, inCount);
      const weights = randomArray(rng, d.outC * d.inC * d.kH * d.kW);
      const dy = randomArray(rng, outCount);
      const start = randomArray(rng, inCount);
      const dx = start.slice();
      const dW = new Float32Array(weights.length).fill(0.5);
      conv2dBackward(d, input, weights, dy, dx, dW, new Float32Array(d.outC), new Workspace());
      const wk = kernels(variant);
      const buf = allocConvWasm(wk, d, d.n);
      wk.heap.set(weights, buf.weights / 4);
      wk.heap.fill(0.5, buf.weightGrad / 4, buf.weightGrad / 4 + weights.length);
      const pin = put(wk, input);
      const pdy = put(wk, dy);
      const pdx = put(wk, start);
      conv2dBackwardWasm(wk, d, pin, pdy, pdx, buf);
      agree(`resnet conv ${label} d/dinput`, get(wk, pdx, inCount), dx);
      agree(`resnet conv ${label} d/dweights`, get(wk, buf.weightGrad, weights.length), dW);
    });
  }
});

describe('depthwise convolution: wasm direct kernel vs the grouped TypeScript kernel', () => {
  // Stride 1 rows of 4+ (the SIMD path) and not (tails), stride 2 and 3, pad >= kernel, channel multiplier 2.
  const cases: { label: string; d: Conv2dDims }[] = [
    { label: 'n2 c5 9x11 k3 s1 p1', d: { ...makeConv2dDims(2, 5, 9, 11, 5, 3, 3, 1, 1), groups: 5 } },
    { label: 'n3 c4 8x7 k3x5 s2 p2', d: { ...makeConv2dDims(3, 4, 8, 7, 4, 3, 5, 2, 2), groups: 4 } },
    { label: 'n1 c3 6x6 k5 s1 p2, multiplier 2', d: { ...makeConv2dDims(1, 3, 6, 6, 6, 5, 5, 1, 2), groups: 3 } },
    { label: 'n2 c2 7x5 k2x1 s3 p1', d: { ...makeConv2dDims(2, 2, 7, 5, 2, 2, 1, 3, 1), groups: 2 } },
  ];
  for (const { label, d } of cases) {
    it(label, () => {
      const wk = kernels();
      const rng = makeRng(11);
      const inCount = d.n * d.inC * d.inH * d.inW;
      const outCount = d.n * d.outC * d.outH * d.outW;
      const input = randomArray(rng, inCount);
      const weights = randomArray(rng, d.outC * d.kH * d.kW);
      const bias = randomArray(rng, d.outC);
      const dy = randomArray(rng, outCount);
      const ws = new Workspace();
      const outJs = new Float32Array(outCount);
      conv2dForward(d, input, weights, bias, outJs, ws);
      const dxJs = new Float32Array(inCount).fill(0.25);
      const dwJs = new Float32Array(weights.length).fill(-1);
      const dbJs = new Float32Array(bias.length).fill(2);
      conv2dBackward(d, input, weights, dy, dxJs, dwJs, dbJs, ws);

      const [pin, pw, pb, pdy] = [input, weights, bias, dy].map((a) => put(wk, a));
      const pout = put(wk, new Float32Array(outCount).fill(NaN));
      const pdx = put(wk, new Float32Array(inCount).fill(0.25));
      const pdw = put(wk, new Float32Array(weights.length).fill(-1));
      const pdb = put(wk, new Float32Array(bias.length).fill(2));
      const mult = d.outC / d.inC;
      const geo = [d.n, d.inC, d.inH, d.inW, mult, d.kH, d.kW, d.stride, d.pad, d.outH, d.outW] as const;
      wk.x.depthwiseForward(...geo, pin, pw, pb, pout);
      wk.x.depthwiseBackward(...geo, pin, pw, pdy, pdx, 1, pdw, pdb);
      agree(`depthwise forward ${label}`, get(wk, pout, outCount), outJs);
      agree(`depthwise input grad ${label}`, get(wk, pdx, inCount), dxJs);
      agree(`depthwise weight grad ${label}`, get(wk, pdw, weights.length), dwJs);
      agree(`depthwise bias grad ${label}`, get(wk, pdb, bias.length), dbJs);
      // hasDx = 0 leaves the input gradient alone.
      const pdx2 = put(wk, new Float32Array(inCount).fill(7));
      wk.x.depthwiseBackward(...geo, pin, pw, pdy, pdx2, 0, pdw, pdb);
      expect(get(wk, pdx2, inCount).every((v) => v === 7)).toBe(true);
    });
  }
});
