/**
 * Checkpoints: where they go, what they hold (parameters, state, optimizer, metrics and, mid-epoch,
 * the epoch's progress and health sums so a resumed run continues exactly), the check that nothing
 * non-finite reaches one, and stopping on Ctrl-C with a checkpoint to resume from.
 */
import { join } from 'node:path';
import { countNonFinite } from '../nn/finite.js';
import { saveSnapshot, type Snapshot } from '../nn/snapshot.js';
import { UserError } from '../util/errors.js';
import { writeMetricsFiles } from './metrics.js';
import type { EpochProgress, TrainOutcome } from './run.js';
import { outcome, type Session } from './session.js';
import type { StepPictures } from './step-pictures.js';

export function checkpointPath(out: string, epochsCompleted: number, midEpoch = false): string {
  const name = `epoch-${String(epochsCompleted).padStart(3, '0')}${midEpoch ? '-interrupted' : ''}.json`;
  return join(out, 'checkpoints', name);
}

/** The run as it stands after `epochsCompleted` epochs (and, mid-epoch, `epochProgress`). */
export function snapshotOf(s: Session, epochsCompleted: number, epochProgress?: EpochProgress): Snapshot {
  const { config, spec, data, preprocessing, visualizer } = s.run;
  return {
    spec,
    params: s.pool.params.slice(),
    state: s.pool.state.slice(),
    classNames: data.classNames,
    preprocessing,
    optimizer: { options: config.optimizer, state: s.optimizer.state },
    ...(s.average ? { average: { params: s.average.params.slice(), state: s.average.state.slice() } } : {}),
    training: {
      epoch: epochsCompleted,
      config: config as unknown as Record<string, unknown>,
      metrics: s.records,
      // Mid-epoch, the health meter's sums too, so the resumed epoch reports the same averages.
      extra: {
        epochProgress, viz: visualizer?.state(), ...(epochProgress ? { health: s.health.state() } : {}), ...(s.average ? { emaUpdates: s.average.updates } : {}),
      },
    },
  };
}

/**
 * Nothing non-finite may reach a checkpoint: the NaN check on each batch's loss runs before the
 * update, so the last update of a run (and a test loss that overflowed) is only caught here.
 */
export function assertFinite(s: Session, epochNumber: number, where: string, testLoss?: number): void {
  const params = s.pool.params;
  const bad = countNonFinite(params);
  const lossBad = testLoss !== undefined && !Number.isFinite(testLoss);
  if (bad === 0 && !lossBad) return;
  const what = bad > 0
    ? `${bad.toLocaleString('en-US')} of ${params.length.toLocaleString('en-US')} parameters became NaN or infinite`
    : `the test loss became ${testLoss}`;
  throw new UserError(
    `training diverged: ${what} in epoch ${epochNumber} (${where}); no checkpoint was written for it; ` +
      `try a smaller learning rate (--lr, now ${s.run.config.optimizer.learningRate})`,
    3,
  );
}

/**
 * The checkpoint of the finished epoch s.epoch (and the metrics files), written again when the
 * pictures have added their timings and scale state, so a resumed run draws as this one would.
 */
export async function saveEpoch(s: Session): Promise<void> {
  s.lastCheckpoint = checkpointPath(s.run.settings.out, s.epoch + 1);
  await Promise.all([saveSnapshot(s.lastCheckpoint, snapshotOf(s, s.epoch + 1)), writeMetricsFiles(s.run.settings.out, s.records)]);
}

/** Ctrl-C inside an epoch: a checkpoint at the next batch (s.progress.batch), then stop. */
export async function stopMidEpoch(s: Session, steps: StepPictures): Promise<TrainOutcome> {
  assertFinite(s, s.epoch + 1, `after batch ${s.progress.batch} of ${s.batches}`);
  s.lastCheckpoint = checkpointPath(s.run.settings.out, s.epoch, true);
  await saveSnapshot(s.lastCheckpoint, snapshotOf(s, s.epoch, s.progress));
  await steps.reportSkipped();
  return stopped(s, s.epoch);
}

/** Stop after the checkpoint already written (at an epoch's end, or just now mid-epoch). */
export function stopped(s: Session, epochsCompleted: number): TrainOutcome {
  s.run.reporter.log(`interrupted: checkpoint written to ${s.lastCheckpoint}; continue with --resume ${s.lastCheckpoint}`);
  return outcome(s, 'interrupted', epochsCompleted);
}
