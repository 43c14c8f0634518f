import type { ImageShape, ImageSplit } from '../data/split.js';
import type { Augmentation } from '../data/augment.js';
import type { Preprocessing } from '../data/preprocess.js';
import type { TtaMode } from '../data/tta.js';

/** Slots of the control block that the main thread and the workers share (Int32Array). */
export const Ctrl = {
  /** Bumped by the main thread to start a command; workers wait on it. */
  SEQ: 0,
  CMD: 1,
  /** Next task index to take (Atomics.add), so idle workers take the next micro-batch. */
  NEXT: 2,
  /** Workers that finished the current command; the main thread waits on it. */
  DONE: 3,
  /** Set to 1 by a worker whose task threw. */
  ERROR: 4,
  NUM_TASKS: 5,
  EPOCH: 6,
  STEP: 7,
  /** Train: first position in the epoch's permutation. Eval: first test record. */
  START: 8,
  /** Train: images in this mini-batch. Eval: test records to evaluate. */
  COUNT: 9,
  /** Eval: which split, 0 the test split, 1 the held-back validation split (--holdout). */
  SPLIT: 10,
  SIZE: 16,
} as const;

export const Command = { TRAIN: 1, EVAL: 2, STOP: 3 } as const;

/** Everything a worker needs, posted once at start. SharedArrayBuffers are shared, not copied. */
export interface WorkerInit {
  workerIndex: number;
  /** The spec's definitions (parsed again in the worker by the same parser) and where they came from. */
  layerDefs: Record<string, unknown>[];
  origin: string;
  /** Modules of layer types registered outside the registry file (registerLayerModule), loaded first. */
  layerModules: string[];
  seed: number;
  microBatch: number;
  evalMicroBatch: number;
  preprocessing: Preprocessing;
  augmentation: Augmentation | null;
  labelSmoothing: number;
  /** Test-time augmentation of evaluations (--tta). */
  tta: TtaMode;
  ctrl: SharedArrayBuffer;
  params: SharedArrayBuffer;
  /** The network's state vector (running statistics), read by every replica, updated by the main thread. */
  state: SharedArrayBuffer;
  /** maxTasks gradient slots of paramCount floats: slot j holds the summed gradient of micro-batch j. */
  gradSlots: SharedArrayBuffer;
  /** Likewise for the statistics a training forward writes (Network.stats): slot j = micro-batch j. */
  statSlots: SharedArrayBuffer;
  /** Per task: [summed loss, correct count]. Float64. */
  taskStats: SharedArrayBuffer;
  /** The epoch's order of training records. Int32. */
  permutation: SharedArrayBuffer;
  /** Predicted class of each test record from the last evaluation. Int32. */
  predictions: SharedArrayBuffer;
  train: SharedSplit;
  test: SharedSplit;
  /** The validation split held back from the training images (--holdout), if any. */
  val: SharedSplit | null;
}

export interface SharedSplit {
  count: number;
  labels: SharedArrayBuffer;
  /** Byte offset of the split's labels in `labels` (a split may be part of a larger one, see --holdout). */
  labelsAt: number;
  pixels: SharedArrayBuffer;
  pixelsAt: number;
  shape: ImageShape;
}

/** A split on SharedArrayBuffers (copied once if the loader did not already share it; a view is not copied). */
export function shareSplit(split: ImageSplit): SharedSplit {
  const toShared = (a: Uint8Array): [SharedArrayBuffer, number] => {
    if (a.buffer instanceof SharedArrayBuffer) return [a.buffer, a.byteOffset];
    const sab = new SharedArrayBuffer(a.byteLength);
    new Uint8Array(sab).set(a);
    return [sab, 0];
  };
  const [labels, labelsAt] = toShared(split.labels);
  const [pixels, pixelsAt] = toShared(split.pixels);
  return { count: split.count, labels, labelsAt, pixels, pixelsAt, shape: [...split.shape] };
}

export function splitFromShared(s: SharedSplit): ImageSplit {
  const size = s.shape[0] * s.shape[1] * s.shape[2];
  return { count: s.count, labels: new Uint8Array(s.labels, s.labelsAt, s.count), pixels: new Uint8Array(s.pixels, s.pixelsAt, s.count * size), shape: s.shape };
}
