/**
 * The visualiser's public API: everything that turns a ProbeResult + metrics into files.
 *
 *   const state = createVizScaleState();               // keep across epochs (plain JSON)
 *   await writeEpochViz(out, epoch, probe, { scale: 'layer', scaleState: state, classNames });
 *   await writeReport(out, { name, model, classNames, metrics, confusion });
 */
export type { EpochMetrics, LayerProbe, ProbeResult } from './types.js';
export {
  writeEpochViz,
  loadScaleState,
  epochDirName,
  layerDirName,
  SCALE_STATE_FILE,
  EPOCH_INDEX_FILE,
  type EpochVizOptions,
  type EpochVizSummary,
  type LayerVizSummary,
  type LayerStatsFile,
  type PictureSummary,
  type ProbePrediction,
} from './epoch.js';
export { writeReport, writePlots, listEpochs, REPORT_FILE, PLOTS_DIR, type ReportRunInfo } from './report.js';
export { writeAnimations, writeAnimation, type AnimationOptions } from './animate.js';
export {
  createVizScaleState,
  coerceVizScaleState,
  parseVizScaleMode,
  VIZ_SCALE_MODES,
  type VizScaleMode,
  type VizScaleState,
} from './scale.js';
export { textEngine, type TextEngine } from './canvas.js';
