/**
 * One epoch of training: the epoch's image order, then batch after batch from s.progress.batch:
 * forward and backward on the workers, the divergence check, the optimizer update, the folded layer
 * statistics, the running averages, progress to the reporter and pictures of steps that are due.
 * Stops early (returning 'interrupted') when asked between two batches of the epoch.
 */
import { UserError } from '../util/errors.js';
import { now } from './run.js';
import { epochPermutation, type Session } from './session.js';
import type { StepPictures } from './step-pictures.js';

export async function trainEpoch(s: Session, steps: StepPictures): Promise<'done' | 'interrupted'> {
  const { config, data, reporter } = s.run;
  const { pool, net, optimizer, health, progress, batches, epoch } = s;
  const trainCount = data.train.count;
  pool.permutation.set(epochPermutation(config.seed, epoch, trainCount));
  for (; progress.batch < batches; progress.batch++) {
    const b = progress.batch;
    const start = b * config.batchSize;
    const count = Math.min(config.batchSize, trainCount - start);
    const t0 = now();
    const learningRate = s.rateAt(optimizer.state.step);
    const step = await pool.trainStep(epoch, optimizer.state.step, start, count);
    if (!Number.isFinite(step.lossSum)) {
      throw new UserError(
        `training diverged: the loss became ${step.lossSum} in epoch ${epoch + 1}, batch ${b + 1} of ${batches}; ` +
          `try a smaller learning rate (--lr, now ${config.optimizer.learningRate}); this step's rate was ${learningRate.toPrecision(3)}`,
        3,
      );
    }
    health.beforeUpdate(pool.params, pool.grads, count);
    const decay = optimizer.update(pool.params, pool.grads, net.paramRanges, count, learningRate);
    health.afterUpdate(pool.params, epoch, b);
    net.foldState(step.stats, step.counts);
    s.average?.update(pool.params, pool.state);
    progress.trainSeconds += now() - t0;
    progress.lossSum += step.lossSum;
    progress.decaySum += decay.l1 + decay.l2;
    progress.correct += step.correct;
    progress.seen += count;
    reporter.batch({
      epoch: epoch + 1, epochs: config.epochs, batch: b + 1, batches,
      loss: progress.lossSum / progress.seen + progress.decaySum / (b + 1),
      accuracy: progress.correct / progress.seen,
      imagesPerSecond: progress.seen / Math.max(progress.trainSeconds, 1e-9),
      stepLoss: step.lossSum / count + decay.l1 + decay.l2, stepAccuracy: step.correct / count, images: count,
    });
    await steps.afterStep(now() - t0, epoch * batches + b + 1, epoch);
    if (s.run.interrupted() && b + 1 < batches) {
      progress.batch = b + 1;
      return 'interrupted';
    }
  }
  return 'done';
}
