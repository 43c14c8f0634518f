/**
 * `train`: the epoch loop as a short sequence of named steps. Each step lives in its own module:
 * setting up (session.ts), one epoch of batches (epoch.ts), evaluation and layer health
 * (evaluate.ts), checkpoints and stopping on Ctrl-C (checkpoint.ts), pictures during training
 * (step-pictures.ts) and at an epoch's end (epoch-pictures.ts).
 */
import { assertFinite, saveEpoch, stopMidEpoch, stopped } from './checkpoint.js';
import { trainEpoch } from './epoch.js';
import { drawEpoch, writeReport } from './epoch-pictures.js';
import { evaluateEpoch, measureHealth, picturesDue } from './evaluate.js';
import { now, type TrainOutcome, type TrainRun } from './run.js';
import { freshProgress, outcome, startPool, startSession } from './session.js';
import { StepPictures } from './step-pictures.js';

export { checkpointPath } from './checkpoint.js';
export type { EpochVisualizer, TrainOutcome, TrainReporter, TrainRun } from './run.js';

/** Train for config.epochs epochs (from the resumed point, if any) on a pool of worker threads. */
export async function train(run: TrainRun): Promise<TrainOutcome> {
  const pool = startPool(run);
  try {
    const s = startSession(run, pool);
    const steps = new StepPictures(s);
    await steps.begin();
    for (; s.epoch < run.config.epochs; s.epoch++) {
      const epochStart = now();
      if ((await trainEpoch(s, steps)) === 'interrupted') return await stopMidEpoch(s, steps);
      const { record, confusion } = await evaluateEpoch(s, steps.takeEpochSeconds());
      assertFinite(s, s.epoch + 1, 'at its end', run.data.test.count ? record.testLoss : undefined);
      const due = picturesDue(s);
      const patches = measureHealth(s, record, due);
      // The checkpoint (and metrics) first: a picture that fails must not cost the epoch.
      s.progress = freshProgress();
      record.seconds = now() - epochStart;
      await saveEpoch(s);
      if (due) await drawEpoch(s, record, confusion, patches, epochStart);
      await steps.reportSkipped();
      await writeReport(s, confusion, steps);
      run.reporter.epoch(record);
      if (run.interrupted()) return stopped(s, s.epoch + 1);
    }
    return outcome(s, 'completed', s.epoch);
  } finally {
    await pool.close();
  }
}
