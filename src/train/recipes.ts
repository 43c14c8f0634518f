/**
 * Default training recipes of presets: the settings `cnnviz train --model <preset>` uses for every
 * option not given on the command line (an explicit option always wins). Presets without an entry use
 * the general defaults (TRAIN_DEFAULTS, ConvNetJS's trainer settings).
 */
import type { OptimizerMethod } from '../nn/optimizers.js';
import type { TtaMode } from '../data/tta.js';
import { DEFAULT_LR_SCHEDULE, type LrSchedule } from './schedule.js';

export interface Recipe {
  epochs: number;
  batchSize: number;
  microBatch: number;
  optimizer: OptimizerMethod;
  learningRate: number;
  momentum: number;
  /** ConvNetJS-style L2 decay (on the summed gradient); 0 when weightDecay is used instead. */
  l2Decay: number;
  weightDecay: number;
  lrSchedule: LrSchedule;
  labelSmoothing: number;
  /** Test-time augmentation of the reported accuracy (absent: none). */
  tta?: TtaMode;
}

/**
 * ResNets (He et al. 2016, sec. 4.2): SGD with Nesterov momentum 0.9 on a one-cycle schedule peaking at
 * lr 0.2 (30% warm-up from lr/25, then down to ~0), weight decay 5e-4 (PyTorch style) on conv/fc weights
 * only, batch 128 cut into micro-batches of 32: batch norm computes its statistics per micro-batch
 * ("ghost" batch norm, so they do not depend on --workers), and 32 images keep them close to the whole
 * batch's. The epochs are what each preset gets through in under 30 minutes on this project's idle
 * 2-core machine, pictures and evaluation included, chosen from a 10,000-image trial's epoch time
 * (2026-11-30, third session: resnet20 ~105 s per epoch -> 15, resnet8 ~45 s -> 36; see the README for
 * what they reached); the schedule is laid out over --epochs, so on a busy machine pass fewer, so that
 * it ends inside the time you have.
 */
const RESNET: Omit<Recipe, 'epochs'> = {
  batchSize: 128,
  microBatch: 32,
  optimizer: 'nesterov',
  learningRate: 0.2,
  momentum: 0.9,
  l2Decay: 0,
  weightDecay: 5e-4,
  lrSchedule: { kind: 'onecycle', stepFactor: 0.1 },
  labelSmoothing: 0,
};

/**
 * ConvNetJS's MNIST demo trainer: adadelta (no learning rate to tune), batch 20, L2 decay 0.001, cut
 * into micro-batches of 10. The data decides the augmentation (shift only for digits).
 */
const CONVNETJS_MNIST: Recipe = {
  epochs: 10,
  batchSize: 20,
  microBatch: 10,
  optimizer: 'adadelta',
  learningRate: 1,
  momentum: 0.9,
  l2Decay: 0.001,
  weightDecay: 0,
  lrSchedule: DEFAULT_LR_SCHEDULE,
  labelSmoothing: 0,
};

/**
 * The speedrun preset (src/nn/speedrun.ts): the ResNet recipe with the fast-training records' label
 * smoothing 0.2 and the test images scored with their mirror images (--tta flip). 12 epochs end inside
 * 30 minutes on this project's 2-core machine, pictures on (see the README's 30-minute table). The recipe
 * was chosen on a held-back part of the training images (--holdout 5000), never on the test images.
 */
const SPEEDRUN: Recipe = { ...RESNET, epochs: 12, labelSmoothing: 0.2, tta: 'flip' };

const RECIPES: Record<string, Recipe> = {
  'convnetjs-mnist': CONVNETJS_MNIST,
  resnet8: { ...RESNET, epochs: 36 },
  resnet20: { ...RESNET, epochs: 15 },
  speedrun: SPEEDRUN,
};

export function presetRecipe(model: string): Recipe | undefined {
  return Object.hasOwn(RECIPES, model) ? RECIPES[model] : undefined;
}
