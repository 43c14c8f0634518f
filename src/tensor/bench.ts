/**
 * Micro-benchmarks of the tensor kernels: sgemm GFLOP/s on the conv shapes of the CIFAR-10 net
 * (ConvNetJS's cifar10 demo: conv 5x5x16 pad 2 on 32x32x3, pool 2, conv 5x5x20 pad 2, pool 2, conv 5x5x20
 * pad 2, pool 2, fc 10), and the time of one conv2d forward + backward per layer.
 *
 * Run (compiles only this file and its imports into a temp dir):
 *   npx tsc --outDir /tmp/cnnviz-bench --rootDir src --module nodenext --moduleResolution nodenext \
 *     --target es2022 --strict --skipLibCheck --types node src/tensor/bench.ts \
 *     && node /tmp/cnnviz-bench/tensor/bench.js
 */
import { pathToFileURL } from 'node:url';
import { Rng } from '../util/rng.js';
import { conv2dBackward, conv2dForward, makeConv2dDims, type Conv2dDims } from './conv2d.js';
import { sgemm, sgemmReference } from './gemm.js';
import { Workspace } from './workspace.js';

export interface GemmShape {
  label: string;
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
}

export interface GemmResult extends GemmShape {
  gflops: number;
  naiveGflops: number;
}

/** The gemm calls conv2d makes for the CIFAR net at batch 1 (per sample), plus a square reference shape. */
export const CIFAR_GEMM_SHAPES: GemmShape[] = [
  { label: 'conv1 fwd  W*col', transA: false, transB: false, M: 16, N: 1024, K: 75 },
  { label: 'conv1 dW   dY*col^T', transA: false, transB: true, M: 16, N: 75, K: 1024 },
  { label: 'conv1 dcol W^T*dY', transA: true, transB: false, M: 75, N: 1024, K: 16 },
  { label: 'conv2 fwd', transA: false, transB: false, M: 20, N: 256, K: 400 },
  { label: 'conv2 dW', transA: false, transB: true, M: 20, N: 400, K: 256 },
  { label: 'conv2 dcol', transA: true, transB: false, M: 400, N: 256, K: 20 },
  { label: 'conv3 fwd', transA: false, transB: false, M: 20, N: 64, K: 500 },
  { label: 'conv3 dW', transA: false, transB: true, M: 20, N: 500, K: 64 },
  { label: 'conv3 dcol', transA: true, transB: false, M: 500, N: 64, K: 20 },
  { label: 'fc batch 64 fwd', transA: false, transB: true, M: 64, N: 10, K: 320 },
  { label: 'square 256', transA: false, transB: false, M: 256, N: 256, K: 256 },
];

function randomArray(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.next() - 0.5;
  return a;
}

type GemmFn = typeof sgemm;

/**
 * Best (shortest) time per call of `run` in ms, over rounds of ~`roundMs` each for `totalMs` in all.
 * The best round rather than the mean, because the machine is shared: other processes only ever slow
 * a round down, so the fastest round is the best estimate of what the kernel itself costs.
 */
export function bestTimeMs(run: () => void, totalMs: number, roundMs = 25): number {
  for (let i = 0; i < 5; i++) run(); // warm up (JIT)
  let best = Infinity;
  const start = performance.now();
  do {
    let reps = 0;
    const t0 = performance.now();
    let elapsed = 0;
    do {
      run();
      reps++;
      elapsed = performance.now() - t0;
    } while (elapsed < roundMs);
    best = Math.min(best, elapsed / reps);
  } while (performance.now() - start < totalMs);
  return best;
}

function timeGemm(fn: GemmFn, s: GemmShape, totalMs: number): number {
  const rng = new Rng(1);
  const A = randomArray(rng, s.M * s.K);
  const B = randomArray(rng, s.K * s.N);
  const C = new Float32Array(s.M * s.N);
  const lda = s.transA ? s.M : s.K;
  const ldb = s.transB ? s.K : s.N;
  const ms = bestTimeMs(() => fn(s.transA, s.transB, s.M, s.N, s.K, 1, A, 0, lda, B, 0, ldb, 0, C, 0, s.N), totalMs);
  return (2 * s.M * s.N * s.K) / (ms * 1e6);
}

export function benchGemm(shapes: GemmShape[] = CIFAR_GEMM_SHAPES, minMs = 400): GemmResult[] {
  return shapes.map((s) => ({
    ...s,
    gflops: timeGemm(sgemm, s, minMs),
    naiveGflops: timeGemm(sgemmReference, s, minMs / 3),
  }));
}

export interface ConvResult {
  label: string;
  forwardMsPerSample: number;
  backwardMsPerSample: number;
}

export function benchConv(batch = 8, minMs = 400): ConvResult[] {
  const layers: [string, Conv2dDims][] = [
    ['conv1 3x32x32 -> 16, 5x5 pad 2', makeConv2dDims(batch, 3, 32, 32, 16, 5, 5, 1, 2)],
    ['conv2 16x16x16 -> 20, 5x5 pad 2', makeConv2dDims(batch, 16, 16, 16, 20, 5, 5, 1, 2)],
    ['conv3 20x8x8 -> 20, 5x5 pad 2', makeConv2dDims(batch, 20, 8, 8, 20, 5, 5, 1, 2)],
  ];
  const ws = new Workspace();
  const rng = new Rng(2);
  return layers.map(([label, d]) => {
    const input = randomArray(rng, d.n * d.inC * d.inH * d.inW);
    const weights = randomArray(rng, d.outC * d.inC * d.kH * d.kW);
    const bias = randomArray(rng, d.outC);
    const output = new Float32Array(d.n * d.outC * d.outH * d.outW);
    const outGrad = randomArray(rng, output.length);
    const inGrad = new Float32Array(input.length);
    const wGrad = new Float32Array(weights.length);
    const bGrad = new Float32Array(bias.length);
    const time = (fn: () => void): number => bestTimeMs(fn, minMs) / d.n;
    return {
      label,
      forwardMsPerSample: time(() => conv2dForward(d, input, weights, bias, output, ws)),
      backwardMsPerSample: time(() => conv2dBackward(d, input, weights, outGrad, inGrad, wGrad, bGrad, ws)),
    };
  });
}

function main(): void {
  console.log('sgemm (row-major, float32), GFLOP/s; "naive" = sgemmReference triple loop');
  for (const r of benchGemm()) {
    const shape = `${r.transA ? 'T' : 'N'}${r.transB ? 'T' : 'N'} M=${r.M} N=${r.N} K=${r.K}`;
    console.log(`${r.label.padEnd(20)} ${shape.padEnd(24)} ${r.gflops.toFixed(2).padStart(6)}   naive ${r.naiveGflops.toFixed(2)}`);
  }
  console.log('\nconv2d (im2col + sgemm), batch 8, ms per sample');
  for (const r of benchConv()) {
    console.log(`${r.label.padEnd(34)} fwd ${r.forwardMsPerSample.toFixed(3)}  bwd ${r.backwardMsPerSample.toFixed(3)}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
