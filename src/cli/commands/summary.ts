import type { Command } from 'commander';
import { loadModel } from '../../nn/snapshot.js';
import { describeLayer, paramCountOf, type ModelSpec } from '../../nn/spec.js';

export interface SummaryRow {
  index: number;
  type: string;
  description: string;
  /** [channels, height, width] of one sample. */
  outShape: [number, number, number];
  params: number;
}

export function summarize(spec: ModelSpec): { rows: SummaryRow[]; totalParams: number } {
  const rows = spec.layers.map((layer, i) => ({
    index: i,
    type: layer.type,
    description: describeLayer(layer),
    outShape: spec.shapes[i],
    params: paramCountOf(spec, i),
  }));
  return { rows, totalParams: rows.reduce((a, r) => a + r.params, 0) };
}

export function formatSummary(spec: ModelSpec): string {
  const { rows, totalParams } = summarize(spec);
  const table = [['#', 'layer', 'output (C x H x W)', 'values', 'params']];
  for (const r of rows) {
    const [c, h, w] = r.outShape;
    table.push([String(r.index), r.description, `${c} x ${h} x ${w}`, (c * h * w).toLocaleString('en-US'), r.params.toLocaleString('en-US')]);
  }
  const widths = table[0].map((_, col) => Math.max(...table.map((row) => row[col].length)));
  const right = [true, false, false, true, true];
  const line = (row: string[]) => row.map((cell, col) => (right[col] ? cell.padStart(widths[col]) : cell.padEnd(widths[col]))).join('  ').trimEnd();
  const out = [line(table[0]), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const row of table.slice(1)) out.push(line(row));
  out.push('');
  out.push(`${rows.length} layers, ${totalParams.toLocaleString('en-US')} trainable parameters (${((totalParams * 4) / 1024).toFixed(1)} KiB as float32)`);
  return out.join('\n');
}

export function registerSummary(program: Command): void {
  program
    .command('summary')
    .description('print the layers of a model with output shapes and parameter counts')
    .option('--model <preset|spec.json|snapshot.json>', 'a preset name, a ConvNetJS layer_defs spec, a cnnviz snapshot/checkpoint or a ConvNetJS snapshot', 'convnetjs-cifar10')
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
