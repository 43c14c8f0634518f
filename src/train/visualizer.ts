import { basename } from 'node:path';
import { formatSummary } from '../nn/summary.js';
import { describePreprocessing, type Preprocessing } from '../data/preprocess.js';
import { formatAugment } from '../data/augment.js';
import { DATASET_NAMES } from '../data/dataset.js';
import { shapeText } from '../data/split.js';
import type { ModelSpec } from '../nn/spec.js';
import { writeEpochViz } from '../viz/epoch.js';
import { writeReport } from '../viz/report.js';
import { coerceVizScaleState, createVizScaleState, type VizScaleState } from '../viz/scale.js';
import type { TrainConfig } from './config.js';
import { describeSchedule } from './schedule.js';
import { evaluationNote } from './evaluate.js';
import type { EpochVisualizer } from './trainer.js';
import { describeSkippedSteps } from './viz-steps.js';

interface VisualizerState {
  scale: VizScaleState;
  confusion: { epoch: number; matrix: number[][] }[];
}

/** Connects the trainer to the picture writer: per-layer grids at the end of an epoch, then the report. */
export function makeVisualizer(out: string, config: TrainConfig, spec: ModelSpec, preprocessing: Preprocessing): EpochVisualizer {
  let state: VisualizerState = { scale: createVizScaleState(), confusion: [] };
  const details: Record<string, string | number> = {
    model: config.model,
    data: `${config.data} (${DATASET_NAMES[config.dataset?.kind ?? 'cifar-10']}${config.dataset?.labels === 'coarse' ? ', coarse labels' : ''}, ${shapeText(spec.shapes[0])} images)`,
    seed: config.seed,
    optimizer: config.optimizer.method,
    'learning rate': config.optimizer.learningRate,
    'batch size': config.batchSize,
    'L2 decay': config.optimizer.l2Decay,
    ...(config.optimizer.weightDecay ? { 'weight decay': config.optimizer.weightDecay } : {}),
    ...(config.lrSchedule && config.lrSchedule.kind !== 'constant' ? { 'learning-rate schedule': describeSchedule(config.lrSchedule) } : {}),
    ...(config.labelSmoothing ? { 'label smoothing': config.labelSmoothing } : {}),
    ...(evaluationNote(config) ? { 'test and validation accuracy computed with': evaluationNote(config)! } : {}),
    ...(config.holdout ? { 'held back for validation': `the last ${config.holdout} training images` } : {}),
    ...(config.microBatch ? { 'micro-batch': config.microBatch } : {}),
    augmentation: formatAugment(config.augmentation),
    preprocessing: describePreprocessing(preprocessing),
  };
  return {
    async epochEnd({ epoch, probe, confusion, classNames, patches }) {
      details['probe (test image indices)'] = probe.probeIndices.join(', ');
      state.confusion = [...state.confusion.filter((c) => c.epoch !== epoch), { epoch, matrix: confusion }];
      await writeEpochViz(out, epoch, probe, { scale: config.vizScale, scaleState: state.scale, classNames, explorerData: config.explorerData, ...(patches ? { patches } : {}) });
    },
    async step({ step, epochsCompleted, probe, records, classNames }) {
      details['probe (test image indices)'] = probe.probeIndices.join(', ');
      await writeEpochViz(out, epochsCompleted, probe, { scale: config.vizScale, scaleState: state.scale, classNames, step, explorerData: config.explorerData });
      // The report lists the new step at once (a served page swaps it in).
      await this.report({ records, confusion: [], classNames });
    },
    async report({ records, classNames, skippedSteps }) {
      // Kept between calls: a step's report (no list given) still says which steps were skipped.
      if (skippedSteps && skippedSteps.length > 0) details['--viz-steps not drawn'] = describeSkippedSteps(skippedSteps);
      await writeReport(out, {
        name: basename(out),
        model: formatSummary(spec),
        classNames,
        metrics: records,
        confusion: state.confusion,
        details: { ...details, epochs: `${records.length} of ${config.epochs}` },
        scaleMode: config.vizScale,
      });
    },
    state() {
      return state as unknown as Record<string, unknown>;
    },
    restore(saved) {
      const s = saved as Partial<VisualizerState> | undefined;
      state = { scale: s?.scale ? coerceVizScaleState(s.scale) : createVizScaleState(), confusion: s?.confusion ?? [] };
    },
  };
}
