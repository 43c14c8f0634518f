import { Command, Option } from 'commander';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { setMemoryLimit } from '../../nn/memory.js';
import { OPTIMIZER_METHODS } from '../../nn/optimizers.js';
import { LiveLog } from '../../serve/live-log.js';
import { TRAIN_DEFAULTS, VIZ_MODES, VIZ_SCALE_MODES } from '../../train/config.js';
import { MAX_PROBE_COUNT } from '../../train/probe.js';
import { LR_SCHEDULES } from '../../train/schedule.js';
import { makeReporter } from '../../train/reporter.js';
import type { WeightAverageState } from '../../train/ema.js';
import { writeRunJson } from '../../train/run-info.js';
import { setupRun, type TrainOptions } from '../../train/setup.js';
import { train, type TrainReporter } from '../../train/trainer.js';
import { parseVizSteps } from '../../train/viz-steps.js';
import { EXPLORER_DATA_MODES } from '../../viz/explorer/data.js';
import { makeVisualizer } from '../../train/visualizer.js';
import { CIFAR100_LABEL_KINDS } from '../../data/cifar100.js';
import { DATASET_KINDS } from '../../data/dataset.js';
import { TTA_MODES } from '../../data/tta.js';
import { byteSize, inputSize, preprocessText, realNumber, runName, portNumber, seedNumber, wholeNumber, pathText } from '../options.js';
import { startAndAnnounce } from './serve.js';

/** Exit codes of a run stopped by a signal (128 + signal number), after its checkpoint. */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/** A checkpoint's weight average (--ema) with its update count, if it has one. */
function resumedAverage(c: NonNullable<Awaited<ReturnType<typeof setupRun>>['resume']>): WeightAverageState | undefined {
  if (!c.average) return undefined;
  const updates = c.training.extra?.emaUpdates;
  return { params: c.average.params, state: c.average.state, updates: typeof updates === 'number' && Number.isInteger(updates) && updates >= 0 ? updates : 0 };
}

/** The reporter the trainer talks to, also feeding the live log. */
function withLiveLog(reporter: TrainReporter, live: LiveLog): TrainReporter {
  return {
    log: (m) => reporter.log(m),
    batch: (p) => {
      live.batch(p);
      reporter.batch(p);
    },
    epoch: (r) => reporter.epoch(r),
  };
}

export function registerTrain(program: Command): void {
  const d = TRAIN_DEFAULTS;
  const cmd = program
    .command('train')
    .description('train a CNN on CIFAR-10, CIFAR-100, MNIST, Fashion-MNIST or your own images and write per-layer pictures, metrics and checkpoints every epoch')
    .option('--model <preset|spec.json|snapshot.json>', 'preset name, ConvNetJS layer_defs spec, or a snapshot/checkpoint or ONNX model to start from', pathText, 'convnetjs-cifar10')
    .option('--data <dir>', 'the data: a folder of CIFAR-10 or CIFAR-100 binaries, MNIST / Fashion-MNIST IDX files, or class folders of images (default: data/cifar-10-batches-bin, or data/<name> for --dataset; downloaded when missing)', pathText)
    .addOption(new Option('--dataset <name>', 'the kind of data in --data, when it could be read as more than one; without --data, which data set to use from data/<name>').choices(DATASET_KINDS))
    .addOption(new Option('--labels <kind>', 'CIFAR-100: learn the 100 fine classes or the 20 coarse superclasses').choices(CIFAR100_LABEL_KINDS))
    .option('--test-fraction <f>', 'image folder without train/ and test/: the fraction of each class held out as test images (default 0.2)', realNumber(0, 1))
    .option('--input-size <WxH>', "image folder: resize every image to this size, e.g. 32 or 64x48 (default: the model's input size; presets 32x32, convnetjs-mnist 28x28)", inputSize)
    .addOption(new Option('--channels <n>', "image folder: read images as 1 (grey) or 3 (RGB) channels (default: the model's input)").choices(['1', '3']).argParser(Number))
    .option('--no-download', 'never download data; fail if it is missing')
    .option('--epochs <n>', 'epochs to train (when resuming: the total, counting those done)', wholeNumber(1), d.epochs)
    .option('--batch-size <n>', 'images per optimizer step', wholeNumber(1), d.batchSize)
    .option('--micro-batch <n>', 'images per unit of parallel work; results do not depend on --workers for a fixed value', wholeNumber(1), d.microBatch)
    .addOption(new Option('--optimizer <method>', 'update rule (ConvNetJS trainer methods, and adamw)').choices(OPTIMIZER_METHODS).default(d.optimizer))
    .option('--nesterov', 'Nesterov momentum (the same as --optimizer nesterov)')
    .option('--lr <rate>', 'learning rate (default 0.01; adam and adamw 0.001; adadelta ignores it); with a schedule, its peak', realNumber(0))
    .addOption(new Option('--lr-schedule <kind>', 'how the learning rate changes over the run').choices(LR_SCHEDULES).default('constant'))
    .option('--warmup <epochs>', 'epochs of learning-rate warm-up (onecycle default: 30% of the run)', realNumber(0))
    .option('--lr-steps <epochs>', 'step schedule: epochs at which the rate is multiplied by --lr-step-factor (default: at 50% and 75%)')
    .option('--lr-step-factor <f>', 'step schedule: the multiplier at each of --lr-steps', realNumber(0, 1), 0.1)
    .option('--label-smoothing <e>', 'softmax loss against (1 - e) * one-hot + e / classes', realNumber(0, 0.99), 0)
    .addOption(new Option('--tta <mode>', 'test-time augmentation of the reported test and validation accuracy: flip averages the softmax of each image and its left-right mirror').choices(TTA_MODES).default('none'))
    .option('--ema <decay>', 'report accuracy (and checkpoint) an exponential moving average of the weights and batch-norm statistics, updated each step with this decay, e.g. 0.999 (default: off)', realNumber(0, 1, true))
    .option('--holdout <n>', 'hold back the last N training images (after --train-limit) as a validation split: not trained on, its accuracy reported each epoch (default 0)', wholeNumber(0))
    .option('--momentum <m>', 'momentum for sgd and nesterov (default 0.9)', realNumber(0, 1))
    .option('--weight-decay <wd>', 'PyTorch-style weight decay on the mean gradient (adamw: decoupled; default 0, adamw 0.01)', realNumber(0))
    .option('--l1 <decay>', 'L1 weight decay (biases are never decayed)', realNumber(0), 0)
    .option('--l2 <decay>', 'L2 weight decay (biases are never decayed)', realNumber(0), d.l2Decay)
    .option('--ro <ro>', 'decay rate of adadelta and windowgrad (default 0.95)', realNumber(0, 1, true))
    .option('--eps <eps>', 'epsilon of adagrad/adadelta/windowgrad (default 1e-6) and adam (default 1e-8)', realNumber(0))
    .option('--beta1 <b>', 'adam first-moment decay (default 0.9)', realNumber(0, 1, true))
    .option('--beta2 <b>', 'adam second-moment decay (default 0.999)', realNumber(0, 1, true))
    .addOption(new Option('--workers <n>', `worker threads for parallel batches (this machine: ${availableParallelism()})`).argParser(wholeNumber(1)).default(availableParallelism(), 'available cores'))
    .option('--seed <n>', 'seed for initial weights, shuffling, augmentation, dropout and the probe (0 to 4294967295)', seedNumber, d.seed)
    .option('--out <dir>', 'output folder (default: out/<run-name>)', pathText)
    .option('--name <run-name>', 'run name (one folder name), used for the default --out (default: <model>-<date>-<time>)', runName)
    .option('--train-limit <n>', 'use only the first N training images (default: all)', wholeNumber(1))
    .option('--test-limit <n>', 'use only the first N test images (default: all)', wholeNumber(1))
    .option('--augment <list>', 'on-the-fly augmentation: a comma list of flip (random left-right) and shift (random, up to 2 px; shift=N: up to N px), or none (default: flip,shift; MNIST digits: shift)')
    .option('--normalize', 'standardise each channel with the training set mean and deviation (default: pixel/255 - 0.5)')
    .option('--preprocess <mean=r,g,b std=r,g,b>', 'input scaling, "mean=r,g,b std=r,g,b" on pixel/255 as in torchvision, e.g. what an ONNX model was trained with (default: what the model records, else --normalize or pixel/255 - 0.5)', preprocessText)
    .option('--probe <indices>', 'test images to visualise, e.g. 3,17,42 (default: chosen from the seed)')
    .option('--probe-count <n>', `how many probe images when --probe is not given (at most ${MAX_PROBE_COUNT})`, wholeNumber(1, MAX_PROBE_COUNT), d.probeCount)
    .addOption(new Option('--viz <mode>', 'per-layer pictures each epoch').choices(VIZ_MODES).default('all'))
    .option('--viz-every <n>', 'draw the pictures every N epochs (and after the last)', wholeNumber(1), d.vizEvery)
    .addOption(new Option('--viz-scale <mode>', 'colour scale: robust (99.5th percentile of |value| per picture, beyond it clipped and counted), per map, per layer picture (max), or fixed per run from the first epoch').choices(VIZ_SCALE_MODES).default(d.vizScale))
    .option('--viz-steps <steps>', 'pictures during training into step-NNNNNN/: a list of optimizer steps (e.g. 0,50,200,1000), log (0,10,30,100,... in the first epoch, within 8% of its time), or none', parseVizSteps, d.vizSteps)
    .addOption(new Option('--explorer-data <mode>', "probe tensors for the report's explorer (values under the pointer), per epoch: full (float32), half (float16, half the size, within 0.05%) or off").choices(EXPLORER_DATA_MODES).default(d.explorerData))
    .option('--resume <checkpoint>', 'continue a run from its checkpoint (its settings are kept; --epochs may extend it); without --out, in the run folder it came from', pathText)
    .option('--overwrite', 'replace the run in a non-empty --out (its files are removed first)')
    .option('--json', 'print one JSON object per epoch on stdout (messages go to stderr)')
    .option('--quiet', 'no progress output (errors and --json lines still appear)')
    .option('--max-memory <size>', "refuse runs estimated to need more memory than this, e.g. 2G (default: the machine's memory)", byteSize)
    .option('--serve [port]', 'serve the live report on 127.0.0.1 while training, and after it until Ctrl-C (default port: 8080 or the next free one)', portNumber);

  cmd.action(async (opts: TrainOptions & { serve?: boolean | number }) => {
    const explicit = (name: keyof TrainOptions) => cmd.getOptionValueSource(name) === 'cli';
    const reporterOpts = { json: opts.json === true, quiet: opts.quiet === true };
    setMemoryLimit(opts.maxMemory);
    const log = (m: string) => {
      if (!reporterOpts.quiet) process.stderr.write(`${m}\n`);
    };

    const run = await setupRun(opts, explicit, log);
    const { config, settings, model, data, preprocessing } = run;
    const out = settings.out;
    await writeRunJson(out, { config, settings, spec: model.spec, data, preprocessing });

    const reporter = makeReporter({ epochs: config.epochs, ...reporterOpts });
    // live.jsonl always (cheap: one short line per half second); `cnnviz serve` in another terminal shows it too.
    const live = new LiveLog(out, { append: run.resume !== undefined });
    const server = opts.serve === undefined
      ? undefined
      : await startAndAnnounce({ root: resolve(out), shown: out, host: '127.0.0.1', port: typeof opts.serve === 'number' ? opts.serve : undefined, singleRun: true, log: (m) => process.stderr.write(`${m}\n`) });
    // Ctrl-C and SIGTERM (kill, docker stop, CI timeouts) alike: finish the batch, checkpoint, exit 128+signal.
    let interrupts = 0;
    let stopSignal: keyof typeof SIGNAL_EXIT = 'SIGINT';
    const onSignal = (sig: keyof typeof SIGNAL_EXIT) => {
      interrupts += 1;
      if (interrupts === 1) {
        stopSignal = sig;
        reporter.log(`${sig === 'SIGINT' ? 'Ctrl-C' : sig}: finishing this batch and writing a checkpoint (${sig === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to quit now)`);
      } else {
        process.exit(SIGNAL_EXIT[sig]);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const outcome = await train({
        config, settings, spec: model.spec, data, preprocessing, initialParams: run.initialParams, initialState: run.initialState,
        resume: run.resume ? { optimizer: run.resume.optimizer.state, progress: run.resume.training, average: resumedAverage(run.resume) } : undefined,
        reporter: withLiveLog(reporter, live),
        visualizer: config.viz === 'none' ? undefined : makeVisualizer(out, config, model.spec, preprocessing),
        interrupted: () => interrupts > 0,
      });
      reporter.stop();
      if (outcome.status === 'interrupted') {
        process.exitCode = SIGNAL_EXIT[stopSignal];
        return;
      }
      const report = config.viz === 'none' ? '' : `; report ${join(out, 'index.html')}`;
      log(`done: ${outcome.epochsCompleted} epoch(s); checkpoint ${outcome.lastCheckpoint ?? '(none)'}${report}`);
      if (server) {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
        process.stderr.write(`training finished; still serving at ${server.url} (Ctrl-C to stop)\n`);
        await new Promise<void>((done) => {
          process.once('SIGINT', () => done());
          process.once('SIGTERM', () => done());
        });
      }
    } finally {
      reporter.stop();
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      await server?.close();
      run.folder.release();
    }
  });
}
