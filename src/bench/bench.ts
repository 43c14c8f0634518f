/**
 * `npm run bench`: training and evaluation throughput of cnnviz on the convnetjs-cifar10 network at
 * batch 32, with 1 and with all workers, next to ConvNetJS (the npm package) training the same network
 * on the same machine in the same run. Synthetic images (random bytes), so no data set is needed.
 *
 * Options: --seconds <s> per measurement (default 6), --workers <n> (default: available parallelism),
 * --peak-gflops <g> the machine's arithmetic limit for the "share" column (default 235: 2 cores of
 * AVX-512 FMA at ~3.7 GHz, as the speed issue states), --micro-batch <n> (default 8, as training),
 * --json for machine-readable output. --viz-steps [log|none|list] [--viz-images 50000] [--repeats 1]
 * measures the cost of pictures during training instead (see viz-steps.ts). The kernels are those CNNVIZ_KERNELS selects (default: the
 * WebAssembly SIMD ones; CNNVIZ_KERNELS=js measures the TypeScript reference kernels).
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { Cifar10Split } from '../data/cifar10.js';
import { Network } from '../nn/network.js';
import { defaultOptimizerOptions, Optimizer } from '../nn/optimizers.js';
import { DEFAULT_PRESET, paramDecls, presetLayerDefs, presetSpec, type ModelSpec } from '../nn/spec.js';
import { WorkerPool } from '../parallel/pool.js';
import { kernelKind, wasmVariant } from '../tensor/wasm.js';
import { Rng } from '../util/rng.js';
import { parseVizSteps, type VizSteps } from '../train/viz-steps.js';
import { benchVizSteps } from './viz-steps.js';

interface Args {
  seconds: number;
  workers: number;
  peakGflops: number;
  json: boolean;
  batch: number;
  microBatch: number;
  /** --viz-steps [setting]: measure the cost of pictures during training instead (viz-steps.ts). */
  vizSteps?: VizSteps;
  vizImages: number;
  repeats: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seconds: 6, workers: availableParallelism(), peakGflops: 235, json: false, batch: 32, microBatch: 8, vizImages: 50_000, repeats: 1 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    if (key === '--json') {
      a.json = true;
      continue;
    }
    if (key === '--viz-steps') {
      // The setting is optional: the default, log.
      a.vizSteps = argv[i + 1] && !argv[i + 1].startsWith('--') ? parseVizSteps(argv[++i]) : 'log';
      continue;
    }
    const value = Number(argv[++i]);
    if (key === '--seconds') a.seconds = value;
    else if (key === '--workers') a.workers = value;
    else if (key === '--peak-gflops') a.peakGflops = value;
    else if (key === '--micro-batch') a.microBatch = value;
    else if (key === '--viz-images') a.vizImages = value;
    else if (key === '--repeats') a.repeats = value;
    else throw new Error(`unknown option ${key}`);
  }
  return a;
}

/** Multiply-adds x2 of one forward pass; training is counted as 3x (forward, weight and input gradients). */
export function forwardFlops(spec: ModelSpec): number {
  let flops = 0;
  spec.layers.forEach((_, i) => {
    // Each weight is used once per output position (conv: H x W positions; fc: one).
    const [, h, w] = spec.shapes[i];
    for (const p of paramDecls(spec, i)) if (p.name === 'weights') flops += 2 * p.shape.reduce((a, b) => a * b, 1) * h * w;
  });
  return flops;
}

function syntheticSplit(count: number, seed: number): Cifar10Split {
  const rng = new Rng(seed);
  const pixels = new Uint8Array(count * 3072);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.int(256);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = rng.int(10);
  return { count, pixels, labels };
}

const now = (): number => performance.now() / 1000;

async function benchCnnviz(spec: ModelSpec, workers: number, args: Args, train: Cifar10Split, test: Cifar10Split): Promise<{ trainIps: number; evalIps: number }> {
  const net = new Network(spec);
  net.initialize(1);
  const pool = new WorkerPool({
      spec, workers, seed: 1, microBatch: args.microBatch, maxBatchSize: args.batch, evalMicroBatch: 50, preprocessing: { kind: 'scale' },
      augmentation: { flip: true, shift: 2 }, train, test,
  });
  try {
    pool.params.set(net.params);
    pool.state.set(net.state);
    const shared = new Network(spec, { params: pool.params, state: pool.state });
    const opt = new Optimizer({ ...defaultOptimizerOptions('sgd'), l2Decay: 0.0001 }, net.paramCount);
    pool.permutation.set(new Rng(2).permutation(train.count));
    const batches = Math.floor(train.count / args.batch);
    let b = 0;
    const step = async () => {
      const start = (b % batches) * args.batch;
      const r = await pool.trainStep(0, opt.state.step, start, args.batch);
      opt.update(pool.params, pool.grads, net.paramRanges, args.batch);
      shared.foldState(r.stats, r.counts);
      b++;
    };
    for (let i = 0; i < 5; i++) await step(); // warm up the JIT
    let images = 0;
    const t0 = now();
    while (now() - t0 < args.seconds) {
      await step();
      images += args.batch;
    }
    const trainIps = images / (now() - t0);
    await pool.evaluate(Math.min(test.count, 500));
    let evalImages = 0;
    const t1 = now();
    while (now() - t1 < args.seconds / 2) {
      await pool.evaluate(test.count);
      evalImages += test.count;
    }
    return { trainIps, evalIps: evalImages / (now() - t1) };
  } finally {
    await pool.close();
  }
}

interface ConvNetJSVol { w: Float64Array }
interface ConvNetJSModule {
  Net: new () => { makeLayers(d: unknown[]): void; forward(v: ConvNetJSVol, t?: boolean): ConvNetJSVol };
  Vol: new (sx: number, sy: number, d: number, c?: number) => ConvNetJSVol;
  Trainer: new (net: unknown, o: Record<string, unknown>) => { train(v: ConvNetJSVol, y: number): unknown };
}

/** ConvNetJS 0.3.0, one thread, same network, same batch size, SGD with momentum. */
function benchConvNetJS(args: Args, train: Cifar10Split): { trainIps: number; evalIps: number } | null {
  let convnetjs: ConvNetJSModule;
  try {
    convnetjs = createRequire(import.meta.url)('convnetjs') as ConvNetJSModule;
  } catch {
    return null; // a production install without dev dependencies
  }
  const net = new convnetjs.Net();
  net.makeLayers(presetLayerDefs(DEFAULT_PRESET)!);
  const trainer = new convnetjs.Trainer(net, { method: 'sgd', learning_rate: 0.01, momentum: 0.9, batch_size: args.batch, l2_decay: 0.0001 });
  const vols = Array.from({ length: 64 }, (_, i) => {
    const v = new convnetjs.Vol(32, 32, 3, 0);
    for (let k = 0; k < 3072; k++) v.w[k] = train.pixels[i * 3072 + k] / 255 - 0.5;
    return v;
  });
  for (let i = 0; i < 2 * args.batch; i++) trainer.train(vols[i % vols.length], i % 10);
  let n = 0;
  const t0 = now();
  while (now() - t0 < args.seconds) {
    trainer.train(vols[n % vols.length], train.labels[n % vols.length]);
    n++;
  }
  const trainIps = n / (now() - t0);
  let m = 0;
  const t1 = now();
  while (now() - t1 < args.seconds / 2) {
    net.forward(vols[m % vols.length], false);
    m++;
  }
  return { trainIps, evalIps: m / (now() - t1) };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.vizSteps !== undefined) {
    await benchVizSteps({ setting: args.vizSteps, images: args.vizImages, workers: args.workers, repeats: args.repeats, json: args.json }, syntheticSplit);
    return;
  }
  const spec = presetSpec(DEFAULT_PRESET);
  const fwd = forwardFlops(spec);
  const trainFlops = 3 * fwd;
  const train = syntheticSplit(4096, 1);
  const test = syntheticSplit(1000, 2);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const kernels = kernelKind() === 'wasm' ? `wasm ${wasmVariant()}` : 'js';
  log(`cnnviz bench: ${DEFAULT_PRESET}, batch ${args.batch}, micro-batch ${args.microBatch}, ${kernels} kernels, ${args.seconds} s per measurement, ` +
    `${(trainFlops / 1e6).toFixed(1)} MFLOP per training image, ${(fwd / 1e6).toFixed(2)} MFLOP per evaluated image`);

  const rows: { system: string; kernels: string; threads: number; trainIps: number; evalIps: number }[] = [];
  log('measuring ConvNetJS ...');
  const cj = benchConvNetJS(args, train);
  if (cj) rows.push({ system: 'ConvNetJS 0.3.0 (npm)', kernels: 'js', threads: 1, ...cj });
  const counts = [...new Set([1, args.workers])];
  for (const w of counts) {
    log(`measuring cnnviz with ${w} worker(s) ...`);
    rows.push({ system: `cnnviz, ${w} worker${w > 1 ? 's' : ''}`, kernels, threads: w, ...(await benchCnnviz(spec, w, args, train, test)) });
  }
  const base = cj?.trainIps;
  const one = rows.find((r) => r.system.startsWith('cnnviz') && r.threads === 1)!;
  const result = rows.map((r) => ({
    ...r,
    trainGflops: (r.trainIps * trainFlops) / 1e9,
    evalGflops: (r.evalIps * fwd) / 1e9,
    shareOfPeak: (r.trainIps * trainFlops) / 1e9 / args.peakGflops,
    vsConvNetJS: base ? r.trainIps / base : null,
    vsOneWorker: r.system.startsWith('cnnviz') ? r.trainIps / one.trainIps : null,
  }));
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ batch: args.batch, microBatch: args.microBatch, kernels, trainMflopPerImage: trainFlops / 1e6, peakGflops: args.peakGflops, rows: result })}\n`);
    return;
  }
  const header = ['system', 'kernels', 'threads', 'train img/s', 'x ConvNetJS', 'x 1 worker', 'train GFLOP/s', '% of peak', 'eval img/s', 'eval GFLOP/s'];
  const table = result.map((r) => [
    r.system, r.kernels, String(r.threads), r.trainIps.toFixed(1), r.vsConvNetJS === null ? '-' : r.vsConvNetJS.toFixed(1),
    r.vsOneWorker === null ? '-' : r.vsOneWorker.toFixed(2), r.trainGflops.toFixed(2), (100 * r.shareOfPeak).toFixed(1),
    r.evalIps.toFixed(0), r.evalGflops.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const fmt = (row: string[]) => `| ${row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  process.stdout.write(`${[fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...table.map(fmt)].join('\n')}\n`);
  process.stdout.write(`peak = ${args.peakGflops} GFLOP/s (--peak-gflops); training counted as 3 x forward FLOPs\n`);
}

await main();
