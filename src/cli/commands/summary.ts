import type { Command } from 'commander';
import { pathText } from '../options.js';
import { loadModel } from '../../nn/snapshot.js';
import { summarize, formatSummary } from '../../nn/summary.js';

export function registerSummary(program: Command): void {
  program
    .command('summary')
    .description('print the layers of a model with output shapes and parameter counts')
    .option('--model <preset|spec.json|snapshot.json>', 'a preset name, a ConvNetJS layer_defs spec, a cnnviz snapshot/checkpoint, a ConvNetJS snapshot or an ONNX model', pathText, 'convnetjs-cifar10')
    .option('--json', 'print the table as JSON')
    .action((opts: { model: string; json?: boolean }) => {
      const model = loadModel(opts.model);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ model: opts.model, kind: model.kind, ...summarize(model.spec) })}\n`);
      } else {
        process.stdout.write(`model: ${opts.model} (${model.kind})\n\n${formatSummary(model.spec)}\n`);
      }
    });
}
