/**
 * `--viz-steps` while training (viz-steps.ts plans them): drawing the pictures of a step that is due,
 * counting the training time the budget is a share of, and saying which steps were skipped (in the
 * log and run.json). Drawing pauses training: its cost is its wall time.
 */
import { errorMessage } from '../util/errors.js';
import { probeSplit } from './probe.js';
import { now } from './run.js';
import { updateRunJson } from './run-info.js';
import type { Session } from './session.js';
import { describeSkippedSteps, formatVizSteps, VizStepPlanner, type SkippedStep } from './viz-steps.js';

export class StepPictures {
  private readonly plan?: VizStepPlanner;
  /** Training done by this process, for the budget's projection. */
  private trainedSeconds = 0;
  private trainedSteps = 0;
  /** Drawing time in the current epoch (its record's vizSeconds). */
  private epochSeconds = 0;

  constructor(private readonly s: Session) {
    const { config, visualizer, vizStepBudget } = s.run;
    if (visualizer?.step && config.viz !== 'none') {
      this.plan = new VizStepPlanner(config.vizSteps ?? 'none', s.batches, config.epochs * s.batches, vizStepBudget);
    }
  }

  /** At the start: say which listed steps the run never reaches, and draw step 0 of a fresh run. */
  async begin(): Promise<void> {
    await this.reportSkipped();
    if (this.s.epoch === 0 && this.s.progress.batch === 0) await this.draw(0, 0);
  }

  /** After each trained step: its training seconds, then its pictures if due. */
  async afterStep(trainSeconds: number, step: number, epochsCompleted: number): Promise<void> {
    this.trainedSeconds += trainSeconds;
    this.trainedSteps += 1;
    if (this.plan) await this.draw(step, epochsCompleted);
  }

  /** Drawing seconds of the epoch that ends, counted afresh for the next one. */
  takeEpochSeconds(): number {
    const t = this.epochSeconds;
    this.epochSeconds = 0;
    return t;
  }

  /** Every skipped step so far, for the report page (undefined without --viz-steps). */
  get skipped(): readonly SkippedStep[] | undefined {
    return this.plan?.skipped;
  }

  /** Steps not drawn (over the budget, or past the run): said in the log, run.json and the report. */
  async reportSkipped(): Promise<void> {
    const fresh = this.plan?.takeSkipped() ?? [];
    if (!this.plan || fresh.length === 0) return;
    const { config, settings, reporter } = this.s.run;
    reporter.log(`--viz-steps ${formatVizSteps(config.vizSteps ?? 'none')}: ${describeSkippedSteps(fresh)}`);
    await updateRunJson(settings.out, {
      vizStepsOutcome: { setting: formatVizSteps(config.vizSteps ?? 'none'), drawn: this.plan.drawn, skipped: this.plan.skipped },
    });
  }

  private async draw(step: number, epochsCompleted: number): Promise<void> {
    if (!this.plan?.due(step, this.trainedSeconds, this.trainedSteps)) return;
    const { data, preprocessing, visualizer, reporter } = this.s.run;
    const t = now();
    try {
      const probe = probeSplit(this.s.net, data.test, this.s.probeIndices, preprocessing);
      await visualizer!.step!({ step, epochsCompleted, probe, records: this.s.records, classNames: data.classNames });
    } catch (e) {
      reporter.log(`pictures of step ${step} failed: ${errorMessage(e).split('\n')[0]}; training goes on`);
    }
    this.plan.drew(now() - t);
    this.epochSeconds += now() - t;
  }
}
