/**
 * A checkpoint's saved settings and progress, checked before a resumed run trusts them: the config
 * with the rules of the CLI options it came from (src/util/checks.ts), the progress for what the
 * trainer needs (whole epoch counts, a metrics list, finite sums). Fails with one line naming the
 * checkpoint and the field (exit 2). Fields it does not know are left to their owners.
 */
import { MAX_SHIFT } from '../data/augment.js';
import { CIFAR100_LABEL_KINDS } from '../data/cifar100.js';
import { DATASET_KINDS } from '../data/dataset.js';
import { TTA_MODES } from '../data/tta.js';
import { OPTIMIZER_METHODS, optimizerOptionsProblem, type OptimizerOptions } from '../nn/optimizers.js';
import { oneOfProblem, realNumberProblem, seedProblem, wholeNumberProblem } from '../util/checks.js';
import { UserError } from '../util/errors.js';
import { VIZ_MODES, VIZ_SCALE_MODES } from './config.js';
import { EXPLORER_DATA_MODES } from '../viz/explorer/data.js';
import { healthStateProblem } from './health.js';
import { MAX_PROBE_COUNT } from './probe.js';
import { MAX_INPUT_SIDE } from '../data/image-folder.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

class Checker {
  constructor(private readonly file: string) {}

  fail(field: string, problem: string): never {
    throw new UserError(`${this.file}: ${field}: ${problem} (damaged checkpoint, or not one cnnviz wrote)`);
  }

  check(field: string, problem: string | null): void {
    if (problem) this.fail(field, problem);
  }

  obj(v: unknown, field: string): Obj {
    if (!isObj(v)) this.fail(field, `expected an object, got ${JSON.stringify(v)?.slice(0, 40)}`);
    return v;
  }
}

/** Check `training.config` of a checkpoint: the TrainConfig the run was started with. */
export function validateSavedConfig(config: unknown, file: string): void {
  const c: Checker = new Checker(file);
  const cfg = c.obj(config, 'training.config');
  const f = (k: string): string => `training.config.${k}`;
  for (const k of ['model', 'data']) if (typeof cfg[k] !== 'string' || cfg[k] === '') c.fail(f(k), `expected a non-empty string, got ${JSON.stringify(cfg[k])}`);
  c.check(f('epochs'), wholeNumberProblem(cfg.epochs, 1));
  c.check(f('batchSize'), wholeNumberProblem(cfg.batchSize, 1));
  c.check(f('microBatch'), wholeNumberProblem(cfg.microBatch, 1));
  c.check(f('seed'), seedProblem(cfg.seed));
  for (const k of ['trainLimit', 'testLimit']) if (cfg[k] !== undefined && cfg[k] !== null) c.check(f(k), wholeNumberProblem(cfg[k], 1));
  if (typeof cfg.normalize !== 'boolean') c.fail(f('normalize'), `expected true or false, got ${JSON.stringify(cfg.normalize)}`);
  if (cfg.augmentation !== null && cfg.augmentation !== undefined) {
    const a = c.obj(cfg.augmentation, f('augmentation'));
    if (typeof a.flip !== 'boolean') c.fail(f('augmentation.flip'), `expected true or false, got ${JSON.stringify(a.flip)}`);
    c.check(f('augmentation.shift'), wholeNumberProblem(a.shift, 0, MAX_SHIFT));
  }
  if (cfg.probe !== undefined && cfg.probe !== null) {
    if (!Array.isArray(cfg.probe) || cfg.probe.length === 0 || cfg.probe.length > MAX_PROBE_COUNT) {
      c.fail(f('probe'), `expected a list of 1 to ${MAX_PROBE_COUNT} test image indices`);
    }
    cfg.probe.forEach((v, i) => c.check(`${f('probe')}[${i}]`, wholeNumberProblem(v, 0)));
  }
  if (cfg.dataset !== undefined && cfg.dataset !== null) {
    const d = c.obj(cfg.dataset, f('dataset'));
    c.check(f('dataset.kind'), oneOfProblem(d.kind, DATASET_KINDS));
    if (d.labels !== undefined) c.check(f('dataset.labels'), oneOfProblem(d.labels, CIFAR100_LABEL_KINDS));
    if (d.testFraction !== undefined) c.check(f('dataset.testFraction'), realNumberProblem(d.testFraction, 0, 1));
    if (d.channels !== undefined) c.check(f('dataset.channels'), d.channels === 1 || d.channels === 3 ? null : `expected 1 or 3, got ${JSON.stringify(d.channels)}`);
    if (d.inputSize !== undefined) {
      if (!Array.isArray(d.inputSize) || d.inputSize.length !== 2) c.fail(f('dataset.inputSize'), 'expected [height, width]');
      d.inputSize.forEach((v, i) => c.check(`${f('dataset.inputSize')}[${i}]`, wholeNumberProblem(v, 1, MAX_INPUT_SIDE)));
    }
  }
  c.check(f('probeCount'), wholeNumberProblem(cfg.probeCount, 1, MAX_PROBE_COUNT));
  c.check(f('viz'), oneOfProblem(cfg.viz, VIZ_MODES));
  c.check(f('vizEvery'), wholeNumberProblem(cfg.vizEvery, 1));
  c.check(f('vizScale'), oneOfProblem(cfg.vizScale, VIZ_SCALE_MODES));
  if (cfg.tta !== undefined) c.check(f('tta'), oneOfProblem(cfg.tta, TTA_MODES));
  if (cfg.ema !== undefined) c.check(f('ema'), realNumberProblem(cfg.ema, 0, 1, true));
  if (cfg.holdout !== undefined) c.check(f('holdout'), wholeNumberProblem(cfg.holdout, 0));
  if (cfg.explorerData !== undefined) c.check(f('explorerData'), oneOfProblem(cfg.explorerData, EXPLORER_DATA_MODES));
  const o = c.obj(cfg.optimizer, f('optimizer'));
  const g = (k: string): string => f(`optimizer.${k}`);
  c.check(g('method'), oneOfProblem(o.method, OPTIMIZER_METHODS));
  c.check(g('learningRate'), realNumberProblem(o.learningRate, 0));
  for (const k of ['l1Decay', 'l2Decay', 'eps']) c.check(g(k), realNumberProblem(o[k], 0));
  for (const k of ['momentum', 'ro', 'beta1', 'beta2']) c.check(g(k), realNumberProblem(o[k], 0, 1));
  const degenerate = optimizerOptionsProblem(o as unknown as OptimizerOptions);
  if (degenerate) c.fail(g(degenerate[0]), `is ${String(o[degenerate[0]])}, but ${degenerate[1]}`);
}

/** Check the progress part of a checkpoint (`training` without its config, and the optimizer step). */
export function validateSavedProgress(training: unknown, optimizerStep: unknown, file: string): void {
  const c: Checker = new Checker(file);
  const t = c.obj(training, 'training');
  c.check('training.epoch', wholeNumberProblem(t.epoch, 0));
  if (!Array.isArray(t.metrics)) c.fail('training.metrics', `expected a list, got ${JSON.stringify(t.metrics)?.slice(0, 40)}`);
  if (t.metrics.length !== t.epoch) c.fail('training.metrics', `has ${t.metrics.length} records for ${String(t.epoch)} epochs done`);
  t.metrics.forEach((m, i) => {
    const r = c.obj(m, `training.metrics[${i}]`);
    c.check(`training.metrics[${i}].epoch`, r.epoch === i + 1 ? null : `expected ${i + 1}, got ${JSON.stringify(r.epoch)}`);
  });
  c.check('optimizer.step', wholeNumberProblem(optimizerStep, 0));
  if (t.extra === undefined || t.extra === null) return;
  const extra = c.obj(t.extra, 'training.extra');
  if (extra.health !== undefined && extra.health !== null) c.check('training.extra.health', healthStateProblem(extra.health));
  if (extra.emaUpdates !== undefined) c.check('training.extra.emaUpdates', wholeNumberProblem(extra.emaUpdates, 0));
  if (extra.epochProgress === undefined || extra.epochProgress === null) return;
  const p = c.obj(extra.epochProgress, 'training.extra.epochProgress');
  const q = (k: string): string => `training.extra.epochProgress.${k}`;
  for (const k of ['batch', 'correct', 'seen']) c.check(q(k), wholeNumberProblem(p[k], 0));
  for (const k of ['lossSum', 'decaySum', 'trainSeconds']) c.check(q(k), realNumberProblem(p[k], 0));
  if ((p.correct as number) > (p.seen as number)) c.fail(q('correct'), `${String(p.correct)} correct of ${String(p.seen)} seen`);
}
