import type { ModelSpec } from '../nn/spec.js';
import { writeEpochViz } from '../viz/epoch.js';
import { coerceVizScaleState, createVizScaleState, type VizScaleState } from '../viz/scale.js';
import type { TrainConfig } from './config.js';
import type { EpochVisualizer } from './trainer.js';

/** Connects the trainer to the picture writer: per-layer grids at the end of an epoch, then the report. */
export function makeVisualizer(out: string, config: TrainConfig, _spec: ModelSpec): EpochVisualizer {
  let scaleState: VizScaleState = createVizScaleState();
  return {
    async epochEnd({ epoch, probe, classNames }) {
      await writeEpochViz(out, epoch, probe, { scale: config.vizScale, scaleState, classNames });
    },
    async report() {
      // filled in with the report writer
    },
    state() {
      return scaleState as unknown as Record<string, unknown>;
    },
    restore(state) {
      scaleState = state ? coerceVizScaleState(state) : createVizScaleState();
    },
  };
}
