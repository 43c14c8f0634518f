import type { Cifar10Split } from '../data/cifar10.js';
import type { Augmentation } from '../data/augment.js';
import type { Preprocessing } from '../data/preprocess.js';

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
}

export interface SharedSplit {
  count: number;
  labels: SharedArrayBuffer;
  pixels: SharedArrayBuffer;
}

/** A split on SharedArrayBuffers (copied once if the loader did not already share it). */
export function shareSplit(split: Cifar10Split): SharedSplit {
  const toShared = (a: Uint8Array): SharedArrayBuffer => {
    if (a.buffer instanceof SharedArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength) return a.buffer;
    const sab = new SharedArrayBuffer(a.byteLength);
    new Uint8Array(sab).set(a);
    return sab;
  };
  return { count: split.count, labels: toShared(split.labels), pixels: toShared(split.pixels) };
}

export function splitFromShared(s: SharedSplit): Cifar10Split {
  return { count: s.count, labels: new Uint8Array(s.labels), pixels: new Uint8Array(s.pixels) };
}
