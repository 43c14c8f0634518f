/**
 * `npm run bench`: training and evaluation throughput of cnnviz at batch 32, with 1 and with all
 * workers, on the convnetjs-cifar10 network (32x32x3) and the convnetjs-mnist one (28x28x1, one
 * channel) next to ConvNetJS (the npm package) training the same network, and on the ResNet presets next to PyTorch (../shared/anchors/pytorch/bench.py, 2 threads,
 * batch 32), measured alternately in the same run; for the ResNets also the time per layer type of one
 * replica's micro-batch. Synthetic images (random bytes), so no data set is needed.
 *
 * Options: --seconds <s> per measurement (default 6), --workers <n> (default: available parallelism),
 * --peak-gflops <g> the machine's arithmetic limit for the "share" column (default 235: 2 cores of
 * AVX-512 FMA at ~3.7 GHz, as the speed issue states), --micro-batch <n> (default 8 for the ConvNetJS networks,
 * 16 for the ResNets: two workers get one each, as PyTorch's batch-norm batch of 32 is split in two),
 * --models <list> (default convnetjs-cifar10,convnetjs-mnist,resnet8,resnet20,mobilenet-block; mobilenet-block is
 * bench-only, MobileNet v2's inverted residual blocks, measured without PyTorch), --no-pytorch, --pytorch-script <path>,
 * --json for machine-readable output. --viz-steps [log|none|list] [--viz-images 50000] [--repeats 1]
 * measures the cost of pictures during training instead (see viz-steps.ts). The kernels are those CNNVIZ_KERNELS selects (default: the
 * WebAssembly SIMD ones; CNNVIZ_KERNELS=js measures the TypeScript reference kernels).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { Cifar10Split } from '../data/cifar10.js';
import { Network } from '../nn/network.js';
import { defaultOptimizerOptions, Optimizer } from '../nn/optimizers.js';
import { DEFAULT_PRESET, paramDecls, parseSpec, presetLayerDefs, presetSpec, type ModelSpec } from '../nn/spec.js';
import { WorkerPool } from '../parallel/pool.js';
import { kernelsLabel } from '../tensor/wasm.js';
import { Rng } from '../util/rng.js';
import { fileURLToPath } from 'node:url';
import { parseVizSteps, type VizSteps } from '../train/viz-steps.js';
import { benchVizSteps } from './viz-steps.js';
import { layerTypeTimes, type LayerTypeTime } from './layer-times.js';

interface Args {
  seconds: number;
  workers: number;
  peakGflops: number;
  json: boolean;
  batch: number;
  /** undefined: per model (8 for convnetjs-cifar10, 16 for the ResNets). */
  microBatch?: number;
  models: string[];
  pytorch: boolean;
  pytorchScript: string;
  /** --viz-steps [setting]: measure the cost of pictures during training instead (viz-steps.ts). */
  vizSteps?: VizSteps;
  vizImages: number;
  repeats: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    seconds: 6, workers: availableParallelism(), peakGflops: 235, json: false, batch: 32, models: [DEFAULT_PRESET, 'convnetjs-mnist', 'resnet8', 'resnet20', 'mobilenet-block'],
    pytorch: true, pytorchScript: fileURLToPath(new URL('../../../shared/anchors/pytorch/bench.py', import.meta.url)),
    vizImages: 50_000, repeats: 1,
  };
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
    if (key === '--no-pytorch') {
      a.pytorch = false;
      continue;
    }
    if (key === '--models') {
      a.models = argv[++i].split(',');
      continue;
    }
    if (key === '--pytorch-script') {
      a.pytorchScript = argv[++i];
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
/**
 * Bench-only networks. mobilenet-block: a stem and MobileNet v2's inverted residual blocks (1x1 expand,
 * depthwise 3x3, 1x1 project, batch norm after each) at CIFAR-10 size, for the depthwise and grouped kernels.
 */
function invertedResidual(name: string, input: string, inC: number, outC: number, stride: number, expand: number): Record<string, unknown>[] {
  const mid = inC * expand;
  const defs: Record<string, unknown>[] = [
    { name: `${name}.expand`, type: 'conv', inputs: [input], sx: 1, filters: mid, bias: false },
    { name: `${name}.bn1`, type: 'batchnorm' },
    { name: `${name}.relu1`, type: 'relu' },
    { name: `${name}.dw`, type: 'conv', sx: 3, pad: 1, stride, filters: mid, groups: mid, bias: false },
    { name: `${name}.bn2`, type: 'batchnorm' },
    { name: `${name}.relu2`, type: 'relu' },
    { name: `${name}.project`, type: 'conv', sx: 1, filters: outC, bias: false },
    { name: `${name}.bn3`, type: 'batchnorm' },
  ];
  if (stride === 1 && inC === outC) defs.push({ name: `${name}.add`, type: 'add', inputs: [input, `${name}.bn3`] });
  return defs;
}

function benchSpec(model: string): ModelSpec {
  if (model !== 'mobilenet-block') return presetSpec(model);
  const defs: Record<string, unknown>[] = [
    { name: 'input', type: 'input', out_sx: 32, out_sy: 32, out_depth: 3 },
    { name: 'stem', type: 'conv', sx: 3, pad: 1, filters: 16, bias: false },
    { name: 'stem.bn', type: 'batchnorm' },
    { name: 'stem.relu', type: 'relu' },
  ];
  let last = 'stem.relu';
  for (const [name, inC, outC, stride] of [['b1', 16, 24, 2], ['b2', 24, 24, 1], ['b3', 24, 32, 2], ['b4', 32, 32, 1]] as const) {
    const block = invertedResidual(name, last, inC, outC, stride, 6);
    defs.push(...block);
    last = block[block.length - 1].name as string;
  }
  defs.push({ name: 'gap', type: 'gap' }, { name: 'softmax', type: 'softmax', num_classes: 10 });
  return parseSpec(defs, 'bench mobilenet-block');
}

export function forwardFlops(spec: ModelSpec): number {
  let flops = 0;
  spec.layers.forEach((_, i) => {
    // Each weight is used once per output position (conv: H x W positions; fc: one).
    const [, h, w] = spec.shapes[i];
    for (const p of paramDecls(spec, i)) if (p.name === 'weights') flops += 2 * p.shape.reduce((a, b) => a * b, 1) * h * w;
  });
  return flops;
}

function syntheticSplit(count: number, seed: number, shape: [number, number, number] = [3, 32, 32]): Cifar10Split {
  const rng = new Rng(seed);
  const pixels = new Uint8Array(count * shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.int(256);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = rng.int(10);
  return { count, pixels, labels, shape };
}

const now = (): number => performance.now() / 1000;

async function benchCnnviz(spec: ModelSpec, workers: number, args: Args, microBatch: number, train: Cifar10Split, test: Cifar10Split): Promise<{ trainIps: number; evalIps: number }> {
  const net = new Network(spec);
  net.initialize(1);
  const pool = new WorkerPool({
      spec, workers, seed: 1, microBatch, maxBatchSize: args.batch, evalMicroBatch: 50, preprocessing: { kind: 'scale' },
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
function benchConvNetJS(args: Args, model: string, train: Cifar10Split): { trainIps: number; evalIps: number } | null {
  let convnetjs: ConvNetJSModule;
  try {
    convnetjs = createRequire(import.meta.url)('convnetjs') as ConvNetJSModule;
  } catch {
    return null; // a production install without dev dependencies
  }
  const net = new convnetjs.Net();
  net.makeLayers(presetLayerDefs(model)!);
  const [C, H, W] = train.shape;
  const size = C * H * W;
  const trainer = new convnetjs.Trainer(net, { method: 'sgd', learning_rate: 0.01, momentum: 0.9, batch_size: args.batch, l2_decay: 0.0001 });
  const vols = Array.from({ length: 64 }, (_, i) => {
    // ConvNetJS's Vol is interleaved (x, y, depth); random bytes make the order irrelevant to speed.
    const v = new convnetjs.Vol(W, H, C, 0);
    for (let k = 0; k < size; k++) v.w[k] = train.pixels[i * size + k] / 255 - 0.5;
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

/**
 * PyTorch's training and inference img/s on the same network (the anchor script, 2 threads, batch 32),
 * or null when python3 with torch or the script is missing. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are
 * removed from its environment, as the anchors' README asks.
 */
function benchPytorch(args: Args, model: string, channelsLast: boolean): { trainIps: number; evalIps: number; version: string } | null {
  if (!args.pytorch || !existsSync(args.pytorchScript)) return null;
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync('/usr/bin/python3', [
    args.pytorchScript, '--net', model, '--threads', String(Math.min(args.workers, 2)), '--seconds', String(args.seconds),
    '--repeats', '1', '--infer-seconds', String(args.seconds / 2), '--warmup', '5', ...(channelsLast ? ['--channels-last'] : []),
  ], { env, encoding: 'utf8', timeout: 600_000 });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) return null;
  const res = JSON.parse(line.slice(7)) as { version: string; train_img_s: { median: number }; infer_img_s: { median: number } };
  return { trainIps: res.train_img_s.median, evalIps: res.infer_img_s.median, version: res.version };
}

interface Row {
  model: string;
  system: string;
  kernels: string;
  threads: number;
  trainIps: number;
  evalIps: number;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.vizSteps !== undefined) {
    await benchVizSteps({ setting: args.vizSteps, images: args.vizImages, workers: args.workers, repeats: args.repeats, json: args.json }, syntheticSplit);
    return;
  }
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const kernels = kernelsLabel();
  const rows: (Row & { trainGflops: number; evalGflops: number; shareOfPeak: number; vsReference: number | null; vsOneWorker: number | null })[] = [];
  const layerTimes: Record<string, LayerTypeTime[]> = {};
  const flopsOf: Record<string, number> = {};
  for (const model of args.models) {
    const spec = benchSpec(model);
    // The ConvNetJS networks are compared with ConvNetJS; the others with PyTorch (where it has them).
    const resnet = !model.startsWith('convnetjs');
    // Synthetic images of the network's own input shape (28x28x1 for convnetjs-mnist).
    const shape = [...spec.shapes[0]] as [number, number, number];
    const train = syntheticSplit(4096, 1, shape);
    const test = syntheticSplit(1000, 2, shape);
    const microBatch = args.microBatch ?? (resnet ? 16 : 8);
    const fwd = forwardFlops(spec);
    const trainFlops = 3 * fwd;
    flopsOf[model] = trainFlops;
    log(`cnnviz bench: ${model} (${shape[2]}x${shape[1]}x${shape[0]}), batch ${args.batch}, micro-batch ${microBatch}, ${kernels} kernels, ${args.seconds} s per measurement, ` +
      `${(trainFlops / 1e6).toFixed(1)} MFLOP per training image, ${(fwd / 1e6).toFixed(2)} MFLOP per evaluated image`);
    const modelRows: Row[] = [];
    if (!resnet) {
      log('measuring ConvNetJS ...');
      const cj = benchConvNetJS(args, model, train);
      if (cj) modelRows.push({ model, system: 'ConvNetJS 0.3.0 (npm)', kernels: 'js', threads: 1, ...cj });
    } else {
      // PyTorch first, in both memory layouts (channels-last is its faster one for ResNets on this kind of
      // machine, NCHW on others), then cnnviz: measured alternately in one sitting, as the host's speed drifts.
      // mobilenet-block has no PyTorch twin in the reference script.
      for (const channelsLast of model === 'mobilenet-block' ? [] : [false, true]) {
        const layout = channelsLast ? 'channels-last' : 'NCHW';
        log(`measuring PyTorch, ${layout} (${args.pytorchScript}) ...`);
        const pt = benchPytorch(args, model, channelsLast);
        if (pt) modelRows.push({ model, system: `PyTorch ${pt.version} ${layout}`, kernels: 'mkldnn', threads: Math.min(args.workers, 2), trainIps: pt.trainIps, evalIps: pt.evalIps });
        else log(`PyTorch ${layout} not measured (no /usr/bin/python3 with torch, no script, or --no-pytorch)`);
      }
    }
    for (const w of [...new Set([1, args.workers])]) {
      log(`measuring cnnviz with ${w} worker(s) ...`);
      modelRows.push({ model, system: `cnnviz, ${w} worker${w > 1 ? 's' : ''}`, kernels, threads: w, ...(await benchCnnviz(spec, w, args, microBatch, train, test)) });
    }
    if (resnet) {
      log('timing layer types ...');
      layerTimes[model] = layerTypeTimes(spec, microBatch);
    }
    // The reference is the fastest non-cnnviz row: ConvNetJS, or PyTorch's faster layout.
    const others = modelRows.filter((r) => !r.system.startsWith('cnnviz'));
    const reference = others.length ? Math.max(...others.map((r) => r.trainIps)) : undefined;
    const one = modelRows.find((r) => r.system.startsWith('cnnviz') && r.threads === 1)!;
    for (const r of modelRows) {
      rows.push({
        ...r,
        trainGflops: (r.trainIps * trainFlops) / 1e9,
        evalGflops: (r.evalIps * fwd) / 1e9,
        shareOfPeak: (r.trainIps * trainFlops) / 1e9 / args.peakGflops,
        vsReference: reference ? r.trainIps / reference : null,
        vsOneWorker: r.system.startsWith('cnnviz') ? r.trainIps / one.trainIps : null,
      });
    }
  }
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ batch: args.batch, kernels, trainMflopPerImage: flopsOf, peakGflops: args.peakGflops, rows, layerTimes })}\n`);
    return;
  }
  const header = ['model', 'system', 'kernels', 'threads', 'train img/s', 'x reference', 'x 1 worker', 'train GFLOP/s', '% of peak', 'eval img/s', 'eval GFLOP/s'];
  const table = rows.map((r) => [
    r.model, r.system, r.kernels, String(r.threads), r.trainIps.toFixed(1), r.vsReference === null ? '-' : r.vsReference.toFixed(2),
    r.vsOneWorker === null ? '-' : r.vsOneWorker.toFixed(2), r.trainGflops.toFixed(2), (100 * r.shareOfPeak).toFixed(1),
    r.evalIps.toFixed(0), r.evalGflops.toFixed(2),
  ]);
  process.stdout.write(`${formatTable(header, table)}\n`);
  process.stdout.write(`reference = the fastest other system of each model (ConvNetJS; PyTorch's faster layout of NCHW and channels-last); peak = ${args.peakGflops} GFLOP/s (--peak-gflops); training counted as 3 x forward FLOPs\n`);
  for (const [model, times] of Object.entries(layerTimes)) {
    const total = times.reduce((a, t) => a + t.forwardUs + t.backwardUs, 0);
    process.stdout.write(`\n${model}: time per layer type, one replica, micro-batch of ${args.microBatch ?? 16} (us per image)\n`);
    process.stdout.write(`${formatTable(['layer type', 'layers', 'forward', 'backward', 'share'], times.map((t) => [
      t.kind, String(t.layers), t.forwardUs.toFixed(1), t.backwardUs.toFixed(1), `${((100 * (t.forwardUs + t.backwardUs)) / total).toFixed(1)}%`,
    ]))}\n`);
  }
}

function formatTable(header: string[], table: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const fmt = (row: string[]) => `| ${row.map((c, i) => (i <= 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...table.map(fmt)].join('\n');
}

await main();
