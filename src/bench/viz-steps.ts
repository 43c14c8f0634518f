/**
 * `npm run bench -- --viz-steps [log|none|0,50,...]`: what drawing pictures during training
 * (--viz-steps) costs. Trains one epoch of the default network on synthetic images (50,000 by
 * default, a real epoch's length: the `log` budget is a share of it) twice, alternating, with
 * --viz-steps none and with the setting, pictures and report at the epoch end as usual, and compares
 * the wall time from the start of train() to its last batch. Drawing pauses training, so that
 * difference is what the steps cost.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cifar10, Cifar10Split } from '../data/cifar10.js';
import { Network } from '../nn/network.js';
import { defaultOptimizerOptions } from '../nn/optimizers.js';
import { DEFAULT_PRESET, presetSpec } from '../nn/spec.js';
import type { TrainConfig } from '../train/config.js';
import { train } from '../train/trainer.js';
import { makeVisualizer } from '../train/visualizer.js';
import { formatVizSteps, type VizSteps } from '../train/viz-steps.js';

export interface VizStepsBenchArgs {
  setting: VizSteps;
  images: number;
  workers: number;
  repeats: number;
  json: boolean;
}

interface RunResult {
  setting: string;
  loopSeconds: number;
  stepPictures: number;
  stepSeconds: number;
}

const now = (): number => performance.now() / 1000;

async function oneRun(setting: VizSteps, data: Cifar10, args: VizStepsBenchArgs): Promise<RunResult> {
  const spec = presetSpec(DEFAULT_PRESET);
  const net = new Network(spec);
  net.initialize(1);
  const out = mkdtempSync(join(tmpdir(), 'cnnviz-bench-steps-'));
  const config: TrainConfig = {
    model: DEFAULT_PRESET, data: '(synthetic)', epochs: 1, batchSize: 32, microBatch: 8,
    optimizer: { ...defaultOptimizerOptions('sgd'), l2Decay: 0.0001 }, seed: 1, augmentation: { flip: true, shift: 2 }, normalize: false,
    probeCount: 8, viz: 'all', vizEvery: 1, vizScale: 'layer', vizSteps: setting,
  };
  const preprocessing = { kind: 'scale' as const };
  const visualizer = makeVisualizer(out, config, spec, preprocessing);
  let stepSeconds = 0;
  const step = visualizer.step!.bind(visualizer);
  visualizer.step = async (a) => {
    const t = now();
    await step(a);
    stepSeconds += now() - t;
  };
  let lastBatch = 0;
  const t0 = now();
  try {
    await train({
      config, settings: { out, workers: args.workers, json: false, quiet: true }, spec, data, preprocessing, initialParams: net.params,
      reporter: { log: () => undefined, epoch: () => undefined, batch: (p) => void (p.batch === p.batches && (lastBatch = now())) },
      visualizer, interrupted: () => false,
    });
    return { setting: formatVizSteps(setting), loopSeconds: lastBatch - t0, stepPictures: readdirSync(out).filter((d) => d.startsWith('step-')).length, stepSeconds };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

export async function benchVizSteps(args: VizStepsBenchArgs, split: (n: number, seed: number) => Cifar10Split): Promise<void> {
  const data: Cifar10 = {
    dir: '(synthetic)', kind: 'cifar-10', classNames: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
    train: split(args.images, 1), test: split(200, 2),
  };
  const log = (s: string) => process.stderr.write(`${s}\n`);
  log(`cnnviz bench --viz-steps ${formatVizSteps(args.setting)}: one epoch of ${args.images} synthetic images, ${DEFAULT_PRESET}, batch 32, ${args.workers} worker(s), ${args.repeats} pair(s) of runs`);
  const base: RunResult[] = [];
  const with_: RunResult[] = [];
  for (let i = 0; i < args.repeats; i++) {
    base.push(await oneRun('none', data, args));
    log(`  none: ${base[i].loopSeconds.toFixed(1)} s`);
    with_.push(await oneRun(args.setting, data, args));
    log(`  ${formatVizSteps(args.setting)}: ${with_[i].loopSeconds.toFixed(1)} s, ${with_[i].stepPictures} step picture set(s) drawn in ${with_[i].stepSeconds.toFixed(1)} s`);
  }
  const b = median(base.map((r) => r.loopSeconds));
  const w = median(with_.map((r) => r.loopSeconds));
  const drawn = median(with_.map((r) => r.stepSeconds));
  const result = {
    setting: formatVizSteps(args.setting), images: args.images, workers: args.workers, repeats: args.repeats,
    loopSecondsNone: b, loopSecondsWith: w, overhead: w / b - 1, stepDrawSeconds: drawn, stepDrawShare: drawn / b,
    stepPictures: median(with_.map((r) => r.stepPictures)),
  };
  if (args.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  process.stdout.write(
    `first epoch, start of training to last batch: ${b.toFixed(1)} s without step pictures, ${w.toFixed(1)} s with --viz-steps ${result.setting} ` +
      `(${result.stepPictures} step picture sets, ${drawn.toFixed(1)} s of drawing = ${(100 * result.stepDrawShare).toFixed(1)}% of the epoch); ` +
      `wall-time overhead ${(100 * result.overhead).toFixed(1)}%\n`,
  );
}
