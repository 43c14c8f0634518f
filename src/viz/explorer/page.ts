/**
 * The report's explorer: a layer map, one layer open at a time, an epoch slider, channel drill-down
 * and values under the pointer. This module writes what the page needs beside index.html and returns
 * the HTML of the explorer's section; the page itself is drawn by explorer/explorer.js (client.ts).
 *
 *   <out>/explorer/index.js        cnnvizExplorerIndex({...}): layers (graph), moments, colour maps
 *   <out>/explorer/layer-LLL.js    cnnvizExplorerLayer({...}): one layer across the moments: words,
 *                                  statistics, scales, picture files, per-channel health
 *   <out>/explorer/curves.js       cnnvizExplorerCurves({...}): batch-level points (live.jsonl) and epochs
 *   <out>/explorer/explorer.js, explorer.css   the page's script and style (files, not inline: a
 *                                  Content-Security-Policy may forbid inline scripts)
 * The float32 data each moment holds is described in data.ts and docs/explorer-data.md.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { lineHeight } from '../canvas.js';
import { DIVERGING_LUT, SEQUENTIAL_LUT } from '../colormap.js';
import type { EpochVizSummary } from '../epoch.js';
import { QUANTITY_TITLES } from '../explain.js';
import type { Quantity } from '../grid.js';
import type { EpochMetrics } from '../types.js';
import { EXPLORER_DATA_DIR, EXPLORER_PROBE_FILE, EXPLORER_QUANTITIES, EXPLORER_SUMMARY_FILE, explorerLayerFile, type ExplorerMomentSummary } from './data.js';
import { explorerCss, explorerScript } from './client.js';

export const EXPLORER_DIR = 'explorer';

/** One epoch or step on the slider. */
export interface ExplorerMoment {
  /** Folder, e.g. "epoch-003" or "step-000050". */
  dir: string;
  epoch: number;
  step?: number;
  label: string;
  /** Whether the folder holds the float32 data (runs written before it did not). */
  data: boolean;
}

export interface ExplorerLayerFacts {
  index: number;
  name: string;
  type: string;
  description: string;
  outShape: [number, number, number];
  paramCount: number;
  weightShape?: number[];
  inputs: number[];
  window?: { kernelH: number; kernelW: number; stride: number; pad: number };
  activationsNonNegative: boolean;
  /** Outline of the graph: how deep inside residual branches, and what splits and joins here. */
  depth: number;
  /** On the skip path of the block that joins at `joinsAt` (shorter branch). */
  skip?: boolean;
  /** Layers that read this one, when more than one (a split). */
  splitsTo?: number[];
}

/** Steps and epochs in training order; step 0 is "before training". */
export function momentLabel(s: { epoch: number; step?: number }): string {
  if (s.step === undefined) return `epoch ${s.epoch}`;
  if (s.step === 0) return 'before training';
  return `step ${s.step} (epoch ${s.epoch + 1})`;
}

export function sortMoments<T extends { epoch: number; step?: number }>(list: T[]): T[] {
  // A step taken after `epoch` epochs comes after that epoch's end.
  return [...list].sort((a, b) => a.epoch - b.epoch || (a.step ?? -1) - (b.step ?? -1));
}

/** Ancestors of layer i (itself included). */
function ancestors(inputs: readonly number[][], i: number, memo: Map<number, Set<number>>): Set<number> {
  const m = memo.get(i);
  if (m) return m;
  const s = new Set<number>([i]);
  for (const j of inputs[i] ?? []) for (const a of ancestors(inputs, j, memo)) s.add(a);
  memo.set(i, s);
  return s;
}

/**
 * The outline of the graph: every join (a layer with several inputs) opens a branch from the last
 * layer all its inputs share (the split); the layers strictly between split and join are one level
 * deeper, and those that do not lead to the join's longest input are its skip path.
 */
export function graphOutline(inputs: readonly number[][]): { depth: number[]; skip: boolean[]; splitsTo: number[][] } {
  const n = inputs.length;
  const depth = new Array<number>(n).fill(0);
  const skip = new Array<boolean>(n).fill(false);
  const splitsTo: number[][] = Array.from({ length: n }, () => []);
  inputs.forEach((ins, i) => ins.forEach((j) => splitsTo[j]?.push(i)));
  const memo = new Map<number, Set<number>>();
  inputs.forEach((ins, j) => {
    if (ins.length < 2) return;
    const sets = ins.map((k) => ancestors(inputs, k, memo));
    let split = -1;
    for (const a of sets[0]) if (a > split && sets.every((s) => s.has(a))) split = a;
    // The main branch is the input with the most layers since the split (the other is the skip path).
    const since = (k: number): number => [...ancestors(inputs, k, memo)].filter((a) => a > split).length;
    const longest = ins.reduce((a, b) => (since(b) > since(a) ? b : a));
    const main = ancestors(inputs, longest, memo);
    for (let k = split + 1; k < j; k++) {
      depth[k]++;
      if (!main.has(k)) skip[k] = true;
    }
  });
  return { depth, skip, splitsTo: splitsTo.map((s) => (s.length > 1 ? s : [])) };
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fsp.readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** JSON as a JavaScript call, safe inside an HTML page too. */
function call(fn: string, v: unknown): string {
  return `${fn}(${JSON.stringify(v).replace(/<\//g, '<\\/')});\n`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Batch-level points from live.jsonl, newest file state; epochs from the metrics. */
async function curvesData(outDir: string, metrics: readonly EpochMetrics[]): Promise<unknown> {
  let text = '';
  try {
    text = await fsp.readFile(join(outDir, 'live.jsonl'), 'utf8');
  } catch {
    // No live log (visualize, or an older run): epochs only.
  }
  const points: number[][] = [];
  let batches = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const p = JSON.parse(line) as { step: number; loss: number; accuracy: number; batches: number; n: number; batch: number; epoch: number };
      if (typeof p.step !== 'number' || typeof p.loss !== 'number') continue;
      points.push([p.step, Number(p.loss.toPrecision(5)), Number(p.accuracy.toPrecision(4)), p.n, p.batch, p.epoch]);
      batches = p.batches;
    } catch {
      // A half-written last line.
    }
  }
  const epochs = [...metrics].sort((a, b) => a.epoch - b.epoch).map((m) => ({ epoch: m.epoch, trainLoss: m.trainLoss, testLoss: m.testLoss, trainAccuracy: m.trainAccuracy, testAccuracy: m.testAccuracy }));
  return { batches, points, epochs };
}

export interface ExplorerInput {
  /** Every epoch's and step's epoch.json, any order. */
  summaries: EpochVizSummary[];
  metrics: readonly EpochMetrics[];
  classNames: string[];
  /** Animated WebPs (name e.g. "01-conv-activations", file relative to outDir). */
  animations: { name: string; file: string; frames: number }[];
}

/**
 * Writes the explorer's files into <outDir>/explorer/ and returns the section's HTML (layer map,
 * slider, the view the script fills) and the <head> lines it needs.
 */
export async function writeExplorer(outDir: string, input: ExplorerInput): Promise<{ html: string; head: string; scripts: string }> {
  const ordered = sortMoments(input.summaries);
  const momentSummaries = await Promise.all(ordered.map((s) => readJson<ExplorerMomentSummary>(join(outDir, s.dir, EXPLORER_DATA_DIR, EXPLORER_SUMMARY_FILE))));
  const moments: ExplorerMoment[] = ordered.map((s, i) => ({ dir: s.dir, epoch: s.epoch, ...(s.step === undefined ? {} : { step: s.step }), label: momentLabel(s), data: momentSummaries[i] !== undefined }));
  const latest = ordered[ordered.length - 1];
  const latestData = [...momentSummaries].reverse().find((m) => m !== undefined);
  const writes: Promise<void>[] = [];
  const put = (rel: string, text: string): void => void writes.push(writeFileAtomic(join(outDir, EXPLORER_DIR, rel), text));
  put('explorer.js', explorerScript());
  put('explorer.css', explorerCss());
  put('curves.js', call('cnnvizExplorerCurves', await curvesData(outDir, input.metrics)));

  const vizLayers = latest?.layers ?? [];
  const inputs = vizLayers.map((l, i) => latestData?.layers[i]?.inputs ?? (i === 0 ? [] : [i - 1]));
  const outline = graphOutline(inputs);
  const layers: ExplorerLayerFacts[] = vizLayers.map((l, i) => {
    const d = latestData?.layers[i];
    return {
      index: l.index, name: d?.name ?? l.name, type: l.type, description: l.description, outShape: l.outShape, paramCount: l.paramCount,
      ...(l.weightShape ? { weightShape: l.weightShape } : {}),
      inputs: inputs[i],
      ...(d?.window ? { window: d.window } : {}),
      activationsNonNegative: d?.activationsNonNegative ?? false,
      depth: outline.depth[i],
      ...(outline.skip[i] ? { skip: true } : {}),
      ...(outline.splitsTo[i].length ? { splitsTo: outline.splitsTo[i] } : {}),
    };
  });
  const lutArray = (lut: Uint8Array): number[] => Array.from(lut);
  put('index.js', call('cnnvizExplorerIndex', {
    format: 1,
    layers,
    moments,
    classNames: input.classNames,
    probeFile: EXPLORER_PROBE_FILE,
    layerFiles: layers.map((l) => explorerLayerFile(l.index)),
    colormaps: { diverging: lutArray(DIVERGING_LUT), sequential: lutArray(SEQUENTIAL_LUT) },
    patchRowText: lineHeight(11),
  }));

  // The receptive field of each layer's top patches (the same every moment), to cut out channel k's row.
  const patchFields = await Promise.all(vizLayers.map(async (l) => (l.patches ? (await readJson<{ rf?: unknown }>(join(outDir, l.patches.json)))?.rf : undefined)));
  // The pictures that exist (a failed or deleted picture is not linked).
  const wanted = new Set<string>();
  for (const s of ordered) for (const l of s.layers) for (const f of [...Object.values(l.files), l.statsFile, l.patches?.png, ...(l.extras ?? []).map((x) => x.file)]) if (f) wanted.add(f);
  const exists = new Set<string>();
  await Promise.all([...wanted].map(async (f) => fsp.stat(join(outDir, f)).then((st) => st.isFile() && exists.add(f), () => undefined)));
  // One file per layer across the moments: what its view shows besides the tensors.
  vizLayers.forEach((l, li) => {
    // The layer's own words in this network (its LayerHints.words, with the measured facts of this moment).
    const words: Partial<Record<Quantity, string>> = {};
    for (const q of EXPLORER_QUANTITIES) words[q] = l.noPicture?.[q] ?? l.words?.pictures[q] ?? '';
    const anims = input.animations.filter((a) => a.name.startsWith(`${l.dir.split('/').pop() ?? ''}-`)).map((a) => ({ file: a.file, frames: a.frames, quantity: a.name.slice((l.dir.split('/').pop() ?? '').length + 1) }));
    const perMoment = ordered.map((s, mi) => {
      const v = s.layers[li];
      const d = momentSummaries[mi]?.layers[li];
      const files = Object.fromEntries(Object.entries(v?.files ?? {}).filter(([, f]) => exists.has(f)));
      return {
        files,
        noPicture: v?.noPicture ?? {},
        stats: v && exists.has(v.statsFile) ? v.statsFile : '',
        ranges: v?.ranges ?? {},
        scales: d?.scales ?? {},
        pictureScales: v?.scales ?? {},
        channels: d?.channels,
        ...(v?.patches && exists.has(v.patches.png) ? { patches: v.patches } : {}),
        ...(v?.extras ? { extras: v.extras.filter((x) => exists.has(x.file)) } : {}),
      };
    });
    const patchRf = patchFields[li];
    put(`layer-${String(l.index).padStart(3, '0')}.js`, call('cnnvizExplorerLayer', {
      ...(patchRf ? { patchRf } : {}),
      index: l.index,
      key: l.type,
      note: l.words?.what ?? '',
      extraWords: { ...(l.words?.channels ? { channels: l.words.channels } : {}), ...(l.words?.branches ? { branches: l.words.branches } : {}) },
      titles: QUANTITY_TITLES,
      words,
      animations: anims,
      moments: perMoment,
    }));
  });
  await Promise.all(writes);

  const map = layers.map((l) => {
    const shape = l.outShape.join('×');
    const marks = `${l.inputs.length > 1 ? `<span class="join" title="joins layers ${l.inputs.join(' + ')}">⊕ ${l.inputs.join('+')}</span>` : ''}${l.splitsTo ? `<span class="split" title="read by layers ${l.splitsTo.join(', ')}">→ ${l.splitsTo.join(', ')}</span>` : ''}${l.skip ? '<span class="skipmark" title="on the skip path">skip</span>' : ''}`;
    return `<li class="lm d${Math.min(l.depth, 6)}${l.skip ? ' skip' : ''}" style="--depth:${l.depth}"><a href="#layer-${l.index}" data-layer="${l.index}"><span class="ix">${l.index}</span> <span class="nm">${esc(l.name)}</span> <span class="ty">${esc(l.type)}</span> <span class="sh">${shape}</span>${marks}</a></li>`;
  });
  const html = `<section id="explorer" class="explorer" data-moments="${moments.length}">
<nav class="layer-map" id="layer-map" aria-label="layers"><p class="lm-title">Layers <span class="muted">(${layers.length})</span></p><ol>${map.join('')}</ol></nav>
<div class="xview">
<div class="xbar"><label for="moment-slider">Moment</label> <input type="range" id="moment-slider" min="0" max="${Math.max(0, moments.length - 1)}" step="1" value="${Math.max(0, moments.length - 1)}" list="moment-ticks"><output id="moment-label" for="moment-slider">${esc(moments[moments.length - 1]?.label ?? '')}</output>
<datalist id="moment-ticks">${moments.map((m, i) => `<option value="${i}" label="${esc(m.label)}"></option>`).join('')}</datalist>
<label class="xscale">Colour scale <select id="scale-mode"><option value="auto">gradients per moment, the rest common</option><option value="common">common to all moments</option><option value="moment">this moment only</option></select></label></div>
<div id="layer-view" class="layer-view"><p class="muted">Choose a layer in the map. (This view needs JavaScript.)</p></div>
</div>
</section>`;
  const head = '<link rel="stylesheet" href="explorer/explorer.css">';
  const scripts = '<script src="explorer/explorer.js"></script><script src="explorer/index.js"></script><script src="explorer/curves.js"></script>';
  return { html, head, scripts };
}
