/**
 * A training worker: a replica of the network whose parameters live in shared memory. It sleeps on
 * the control block, and on each command takes micro-batches (Atomics.add on NEXT) until none are left.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { registerLayerModule } from '../nn/layers/registry.js';
import { parseSpec } from '../nn/spec.js';
import { MicroBatchRunner } from './micro-batch.js';
import { Command, Ctrl, splitFromShared, type WorkerInit } from './shared.js';

const init = workerData as WorkerInit;
const ctrl = new Int32Array(init.ctrl);
const params = new Float32Array(init.params);
for (const url of init.layerModules) await registerLayerModule(url);
const spec = parseSpec(init.layerDefs, init.origin);
const maxBatch = Math.max(init.microBatch, init.evalMicroBatch);
const runner = new MicroBatchRunner(spec, { params, state: new Float32Array(init.state) }, init.preprocessing, init.augmentation, init.seed, maxBatch, init.labelSmoothing, init.tta);
const paramCount = params.length;
const statsCount = runner.net.stats.length;
const gradSlots = new Float32Array(init.gradSlots);
const statSlots = new Float32Array(init.statSlots);
const taskStats = new Float64Array(init.taskStats);
const permutation = new Int32Array(init.permutation);
const predictions = new Int32Array(init.predictions);
const train = splitFromShared(init.train);
const test = splitFromShared(init.test);
const val = init.val ? splitFromShared(init.val) : test;
const testOrder = Int32Array.from({ length: Math.max(test.count, val.count) }, (_, i) => i);

function runTask(cmd: number, task: number): void {
  const epoch = ctrl[Ctrl.EPOCH];
  const start = ctrl[Ctrl.START];
  const count = ctrl[Ctrl.COUNT];
  let stats: [number, number];
  if (cmd === Command.TRAIN) {
    if (ctrl[Ctrl.STEP] === faultStep && task === 0) throw new Error(`injected fault at step ${faultStep}`);
    const slot = gradSlots.subarray(task * paramCount, (task + 1) * paramCount);
    const statSlot = statSlots.subarray(task * statsCount, (task + 1) * statsCount);
    stats = runner.train(train, permutation, start, count, task, init.microBatch, epoch, ctrl[Ctrl.STEP], slot, statSlot);
  } else {
    const first = start + task * init.evalMicroBatch;
    const n = Math.min(init.evalMicroBatch, start + count - first);
    stats = runner.evaluate(ctrl[Ctrl.SPLIT] === 1 ? val : test, testOrder, first, n, predictions);
  }
  taskStats[task * 2] = stats[0];
  taskStats[task * 2 + 1] = stats[1];
}

// Fault injection for tests of failure handling: CNNVIZ_TEST_WORKER_FAULT=<step> makes task 0 of
// that optimizer step throw, as a kernel bug would.
const faultStep = process.env.CNNVIZ_TEST_WORKER_FAULT === undefined ? -1 : Number(process.env.CNNVIZ_TEST_WORKER_FAULT);

let seen = 0;
for (;;) {
  Atomics.wait(ctrl, Ctrl.SEQ, seen);
  seen = Atomics.load(ctrl, Ctrl.SEQ);
  runner.setParamsKey(seen);
  const cmd = Atomics.load(ctrl, Ctrl.CMD);
  if (cmd === Command.STOP) break;
  const numTasks = Atomics.load(ctrl, Ctrl.NUM_TASKS);
  try {
    for (let task = Atomics.add(ctrl, Ctrl.NEXT, 1); task < numTasks; task = Atomics.add(ctrl, Ctrl.NEXT, 1)) {
      runTask(cmd, task);
    }
  } catch (e) {
    Atomics.store(ctrl, Ctrl.ERROR, 1);
    const err = e instanceof Error ? { message: e.message, stack: e.stack, name: e.name } : { message: String(e) };
    parentPort?.postMessage({ type: 'error', workerIndex: init.workerIndex, error: err });
  }
  Atomics.add(ctrl, Ctrl.DONE, 1);
  Atomics.notify(ctrl, Ctrl.DONE);
}
