/**
 * Learning-rate schedules: the rate of optimizer step `step` (0-based, counted over the whole run) as a
 * pure function of the schedule, the step and the run's length. Nothing else is kept, so a run resumed
 * from a checkpoint (which stores the step count) continues on exactly the same curve, mid-epoch included.
 *
 *   constant  lr
 *   step      lr * factor^(number of milestones passed); milestones are epochs (default: at 50% and 75% of the run)
 *   cosine    lr * (1 + cos(pi * t)) / 2, t going 0 -> 1 over the steps after the warm-up (ends at 0)
 *   onecycle  from lr / 25 up to lr along half a cosine during the warm-up (default: 30% of the run),
 *             then down to lr / 25 / 1e4 along half a cosine (PyTorch's OneCycleLR with its defaults)
 * Warm-up (--warmup <epochs>, fractional allowed) for constant / step / cosine: linear from lr / warmupSteps
 * to lr over its steps. Milestones and warm-up are in epochs, converted to steps with the steps per epoch.
 */
import { UserError } from '../util/errors.js';

export const LR_SCHEDULES = ['constant', 'step', 'cosine', 'onecycle'] as const;
export type LrScheduleKind = (typeof LR_SCHEDULES)[number];

export interface LrSchedule {
  kind: LrScheduleKind;
  /** Epochs of warm-up; undefined = none (onecycle: 30% of the run). */
  warmupEpochs?: number;
  /** step: epochs at which the rate is multiplied by stepFactor (undefined: at 50% and 75% of the run). */
  stepEpochs?: number[];
  /** step: the multiplier at each milestone. */
  stepFactor: number;
}

export const DEFAULT_LR_SCHEDULE: LrSchedule = { kind: 'constant', stepFactor: 0.1 };

/** The run's length in steps; stepsPerEpoch >= 1. */
export interface ScheduleLength {
  epochs: number;
  stepsPerEpoch: number;
}

const ONECYCLE_DIV = 25;
const ONECYCLE_FINAL_DIV = 1e4;
const ONECYCLE_WARMUP_SHARE = 0.3;

/** Learning rate for 0-based optimizer step `step` with base rate `lr`. */
export function learningRateAt(s: LrSchedule, lr: number, step: number, len: ScheduleLength): number {
  const total = Math.max(1, len.epochs * len.stepsPerEpoch);
  const t = Math.min(step, total - 1);
  if (s.kind === 'onecycle') {
    const warm = Math.max(1, Math.round((s.warmupEpochs ?? ONECYCLE_WARMUP_SHARE * len.epochs) * len.stepsPerEpoch));
    const start = lr / ONECYCLE_DIV;
    const end = start / ONECYCLE_FINAL_DIV;
    if (t < warm) return cosineBetween(start, lr, t / warm);
    return cosineBetween(lr, end, (t - warm) / Math.max(1, total - 1 - warm));
  }
  const warm = Math.round((s.warmupEpochs ?? 0) * len.stepsPerEpoch);
  if (t < warm) return (lr * (t + 1)) / warm;
  switch (s.kind) {
    case 'constant':
      return lr;
    case 'step': {
      const epochsDone = t / len.stepsPerEpoch;
      const milestones = s.stepEpochs ?? [0.5 * len.epochs, 0.75 * len.epochs];
      let rate = lr;
      for (const m of milestones) if (epochsDone >= m) rate *= s.stepFactor;
      return rate;
    }
    case 'cosine':
      return cosineBetween(lr, 0, (t - warm) / Math.max(1, total - warm));
  }
}

/** From a (at f = 0) to b (at f = 1) along half a cosine. */
function cosineBetween(a: number, b: number, f: number): number {
  const x = Math.min(1, Math.max(0, f));
  return b + ((a - b) * (1 + Math.cos(Math.PI * x))) / 2;
}

/** "30,45" -> [30, 45]: positive epoch numbers in increasing order. */
export function parseStepEpochs(s: string): number[] {
  const parts = s.split(',').map((p) => p.trim());
  const out = parts.map(Number);
  if (parts.some((p) => p === '') || out.some((v) => !Number.isFinite(v) || v <= 0) || out.some((v, i) => i > 0 && v <= out[i - 1])) {
    throw new UserError(`--lr-steps: "${s}" is not a list of increasing positive epoch numbers such as 30,45`);
  }
  return out;
}

/** One line for logs: "cosine, warm-up 2 epochs". */
export function describeSchedule(s: LrSchedule): string {
  const parts: string[] = [s.kind];
  if (s.kind === 'step') parts.push(`x${s.stepFactor} at epochs ${s.stepEpochs?.join('/') ?? '50%/75%'}`);
  if (s.warmupEpochs !== undefined) parts.push(`warm-up ${s.warmupEpochs} epochs`);
  return parts.join(', ');
}
