import type { Command } from 'commander';
import { registerDownload } from './download.js';
import { registerExport } from './export.js';
import { registerPredict } from './predict.js';
import { registerServe } from './serve.js';
import { registerSummary } from './summary.js';
import { registerTrain } from './train.js';
import { registerVisualize } from './visualize.js';

/** Each command lives in its own module and adds itself to the program here. */
export function registerCommands(program: Command): void {
  registerTrain(program);
  registerDownload(program);
  registerSummary(program);
  registerPredict(program);
  registerVisualize(program);
  registerExport(program);
  registerServe(program);
}
