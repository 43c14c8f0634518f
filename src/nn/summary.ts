/** The layer table of a model (`cnnviz summary`, the report page): one row per built layer. */
import { formatBytes } from './memory.js';
import { describeLayer, isChain, paramCountOf, type ModelSpec } from './spec.js';
import { graphRows, graphText } from './graph-list.js';

export interface SummaryRow {
  index: number;
  type: string;
  /** Unique layer name (default: its picture folder name, e.g. "01-conv") and the names of the layers it reads. */
  name: string;
  inputs: string[];
  description: string;
  /** [channels, height, width] of one sample. */
  outShape: [number, number, number];
  params: number;
}

export function summarize(spec: ModelSpec): { rows: SummaryRow[]; totalParams: number } {
  const rows = spec.layers.map((layer, i) => ({
    index: i,
    type: layer.type,
    name: layer.name,
    inputs: layer.inputs.map((j) => spec.layers[j].name),
    description: describeLayer(layer),
    outShape: spec.shapes[i],
    params: paramCountOf(spec, i),
  }));
  return { rows, totalParams: rows.reduce((a, r) => a + r.params, 0) };
}

/** The table as text; a graph that is not a plain chain also gets each layer's name and inputs. */
export function formatSummary(spec: ModelSpec): string {
  const { rows, totalParams } = summarize(spec);
  const graph = !isChain(spec);
  const table = [graph ? ['#', 'name', 'layer', 'inputs', 'output (C x H x W)', 'values', 'params'] : ['#', 'layer', 'output (C x H x W)', 'values', 'params']];
  for (const r of rows) {
    const [c, h, w] = r.outShape;
    const cells = [String(r.index), r.description, `${c} x ${h} x ${w}`, (c * h * w).toLocaleString('en-US'), r.params.toLocaleString('en-US')];
    table.push(graph ? [cells[0], r.name, cells[1], r.inputs.join(', '), ...cells.slice(2)] : cells);
  }
  const widths = table[0].map((_, col) => Math.max(...table.map((row) => row[col].length)));
  const right = graph ? [true, false, false, false, false, true, true] : [true, false, false, true, true];
  const line = (row: string[]) => row.map((cell, col) => (right[col] ? cell.padStart(widths[col]) : cell.padEnd(widths[col]))).join('  ').trimEnd();
  const out = [line(table[0]), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const row of table.slice(1)) out.push(line(row));
  out.push('');
  out.push(`${rows.length} layers, ${totalParams.toLocaleString('en-US')} trainable parameters (${formatBytes(totalParams * 4)} as float32)`);
  if (graph) {
    out.push('', 'Graph (computation order; the paths of a branch are indented, "<-" marks a layer reading other than the line above, "->" one feeding several):');
    out.push(...graphText(graphRows(spec.layers.map((c, i) => ({ index: i, name: c.name, type: c.type, description: describeLayer(c), inputs: c.inputs })))));
  }
  return out.join('\n');
}
