/**
 * <out>/index.html: one static page that opens from the file system (no server, no external URLs,
 * inline CSS and JS only). It shows the training curves (<out>/plots/loss.png, accuracy.png), the
 * test-set confusion matrix, and for each epoch (latest first, chosen with a <select>) the probe
 * images with their top-3 predictions and every layer's four pictures with their shape, parameter
 * count, ranges and a short explanation; then the animations across epochs.
 * Every src/href on the page is checked with fs before it is written: the page links only files
 * that exist.
 */
import { promises as fsp } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { listAnimationFiles } from './animate.js';
import { liveScript } from './live-client.js';
import { textEngine } from './canvas.js';
import { EPOCH_INDEX_FILE, epochDirName, stepDirName, type EpochVizSummary, type LayerVizSummary, type ProbePrediction } from './epoch.js';
import { COLOUR_EXPLANATION, HEALTH_EXPLANATIONS, QUANTITY_TITLES, REPORT_EXPLANATIONS, WHICH_GRADIENT, healthVerdicts, pct as explainPct } from './explain.js';
import { QUANTITIES, type Quantity } from './grid.js';
import { accuracyPlotSpec, healthPlotSpecs, lossPlotSpec, renderPlotPng } from './plots.js';
import { formatNumber, type VizScaleMode } from './scale.js';
import type { WalkthroughData } from './walkthrough.js';
import type { BnWalkthroughData, ResidualWalkthroughData } from './walkthrough-blocks.js';
import type { EpochMetrics } from './types.js';
import { readRegularText } from '../util/regular-file.js';

/** What the trainer (or `cnnviz visualize`) tells the report about the run. */
export interface ReportRunInfo {
  /** Run name, the page title. */
  name: string;
  /** Model description (free text; line breaks kept), e.g. the layer list. */
  model: string;
  classNames: string[];
  /**
   * Epochs that have pictures (epoch-NNN folders written by writeEpochViz). Default: every
   * epoch-NNN folder in outDir that has an epoch.json.
   */
  epochs?: number[];
  /** One entry per finished epoch (as in metrics.jsonl); empty for a snapshot without history. */
  metrics: EpochMetrics[];
  /** Test-set confusion matrices, rows = true class, columns = predicted class (counts). */
  confusion?: { epoch: number; matrix: number[][] }[];
  /** Extra facts shown in a table (data, seed, learning rate, batch size, probe indices...). */
  details?: Record<string, string | number | boolean>;
  /** Scale mode the pictures were drawn with (default: read from the epochs). */
  scaleMode?: VizScaleMode;
}

export const PLOTS_DIR = 'plots';
export const REPORT_FILE = 'index.html';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A relative path as a URL path (each segment percent-encoded). */
function url(rel: string): string {
  return rel.split('/').map(encodeURIComponent).join('/');
}

/** Writes plots/loss.png and plots/accuracy.png from the metrics; returns the files written. */
export async function writePlots(outDir: string, metrics: readonly EpochMetrics[]): Promise<string[]> {
  if (metrics.length === 0) return [];
  const engine = await textEngine();
  const sorted = [...metrics].sort((a, b) => a.epoch - b.epoch);
  const files: [string, Promise<Buffer>][] = [
    [`${PLOTS_DIR}/loss.png`, renderPlotPng(lossPlotSpec(sorted), engine)],
    [`${PLOTS_DIR}/accuracy.png`, renderPlotPng(accuracyPlotSpec(sorted), engine)],
  ];
  for (const h of healthPlotSpecs(sorted)) files.push([`${PLOTS_DIR}/${h.name}.png`, renderPlotPng({ ...h.spec, width: 660, height: 420 }, engine)]);
  await Promise.all(files.map(async ([rel, png]) => writeFileAtomic(join(outDir, rel), await png)));
  return files.map(([rel]) => rel);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readRegularText(path)) as T;
  } catch {
    return undefined;
  }
}

/** Steps with a step-NNNNNN/epoch.json in outDir (`--viz-steps` pictures), ascending. */
export function listSteps(outDir: string): Promise<number[]> {
  return listIndexedDirs(outDir, /^step-(\d+)$/);
}

/** Section id and labels of an epoch's or a step's pictures. */
function moment(s: EpochVizSummary): { id: string; prefix: string; label: string; short: string } {
  return s.step === undefined
    ? { id: `epoch-${s.epoch}`, prefix: `e${s.epoch}`, label: `epoch ${s.epoch}`, short: `${s.epoch}` }
    : { id: `step-${s.step}`, prefix: `s${s.step}`, label: `step ${s.step} (epoch ${s.epoch + 1})`, short: `s${s.step}` };
}

/** Epoch numbers with an epoch-NNN/epoch.json in outDir, ascending. */
export function listEpochs(outDir: string): Promise<number[]> {
  return listIndexedDirs(outDir, /^epoch-(\d+)$/);
}

/** The numbers of outDir's folders named by `pattern` (one number group) that hold an epoch.json, ascending. */
async function listIndexedDirs(outDir: string, pattern: RegExp): Promise<number[]> {
  let names: string[] = [];
  try {
    names = await fsp.readdir(outDir);
  } catch {
    return [];
  }
  const found = await Promise.all(
    names.map(async (n) => {
      const m = pattern.exec(n);
      if (!m) return -1;
      // A folder without its index is being written, or not ours.
      return fsp.access(join(outDir, n, EPOCH_INDEX_FILE)).then(() => Number(m[1]), () => -1);
    }),
  );
  return found.filter((x) => x >= 0).sort((a, b) => a - b);
}

/** Existence checks of relative paths, cached for one report. */
class Files {
  private readonly cache = new Map<string, Promise<boolean>>();
  constructor(private readonly outDir: string) {}
  exists(rel: string | undefined): Promise<boolean> {
    if (!rel) return Promise.resolve(false);
    let p = this.cache.get(rel);
    if (!p) {
      p = fsp.stat(join(this.outDir, rel)).then((s) => s.isFile(), () => false);
      this.cache.set(rel, p);
    }
    return p;
  }
}

const CSS = `
:root { --fg:#1d1d1f; --muted:#5a5a5f; --line:#d8d8dc; --bg:#fafafa; --card:#fff; --accent:#2166ac; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color:var(--fg); background:var(--bg); }
header, main, footer { max-width: 1500px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 18px; }
h1 { margin: 0 0 4px; font-size: 26px; }
h2 { margin: 32px 0 10px; font-size: 21px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { margin: 0 0 4px; font-size: 17px; }
pre.model { background: var(--card); border: 1px solid var(--line); padding: 8px 12px; overflow-x: auto; font-size: 13px; }
nav a { margin-right: 14px; }
a { color: var(--accent); }
.muted { color: var(--muted); }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 3px 7px; text-align: right; }
th { background: #f0f0f3; }
td.l, th.l { text-align: left; }
.explain dt { font-weight: 600; margin-top: 6px; }
.explain dd { margin: 0 0 4px 18px; }
.plots { display: flex; flex-wrap: wrap; gap: 16px; }
.plots img { max-width: 100%; border: 1px solid var(--line); background: #fff; }
.epoch-picker { position: sticky; top: 0; background: var(--bg); padding: 8px 0; z-index: 2; border-bottom: 1px solid var(--line); }
.epoch-picker select { font-size: 15px; padding: 2px 6px; }
.js .epoch { display: none; }
.js .epoch.shown { display: block; }
.layer { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; margin: 14px 0; }
.layer .facts { margin: 6px 0 10px; }
.pics { display: block; }
.layer p.what { margin: 4px 0 8px; }
.pics figure { margin: 18px 0 6px; border-top: 1px solid var(--line); padding-top: 10px; }
.pics figure.nopic { background: #f4f6fa; padding: 8px 12px; border-radius: 4px; }
p.explain-q { margin: 0 0 4px; max-width: 1100px; }
.side { display: flex; flex-wrap: wrap; gap: 0 16px; align-items: flex-start; }
.side > figure { flex: 0 1 auto; min-width: 0; max-width: 100%; }
.side p.explain-q, .side p.numbers { max-width: 620px; }
p.numbers { margin: 0 0 6px; font-size: 13px; color: var(--muted); }
/* Pictures show at their drawn size (1 image px = 1 CSS px), so their text stays readable; wider ones scroll. */
.scroll { overflow-x: auto; }
.scroll img { max-width: none; }
figure { margin: 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); background: #fff; display: block; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 4px; }
figcaption b { color: var(--fg); }
.probe img { max-width: 100%; border: 1px solid var(--line); }
.ok { color: #1a7f37; font-weight: 600; }
.bad { color: #c62828; font-weight: 600; }
.confusion td { min-width: 42px; }
ol.questions li { margin: 6px 0; max-width: 1100px; }
.healthgrid { display: flex; flex-wrap: wrap; gap: 10px 20px; }
.healthgrid figure { flex: 0 1 660px; }
.healthgrid img { max-width: 100%; }
.confusion td.diag { font-weight: 700; outline: 1px solid #555; }
.anims { display: block; }
.anims figure { margin: 14px 0; overflow-x: auto; }
.anims figure img { max-width: none; }
`;

const JS = `
(function () {
  document.documentElement.classList.add('js');
  var sel = document.getElementById('epoch-select');
  function show(id) {
    var secs = document.querySelectorAll('section.epoch');
    var found = false;
    for (var i = 0; i < secs.length; i++) { var on = secs[i].id === id; secs[i].classList.toggle('shown', on); found = found || on; }
    if (!found && secs.length) { secs[0].classList.add('shown'); id = secs[0].id; }
    if (sel) sel.value = id;
  }
  if (sel) sel.addEventListener('change', function () { show(sel.value); history.replaceState(null, '', '#' + sel.value); });
  function fromHash() { var h = location.hash.slice(1); if (/^(epoch|step)-\\d+$/.test(h)) show(h); else if (sel) show(sel.value); }
  window.addEventListener('hashchange', fromHash);
  fromHash();
})();
`;

/** "01-conv-activations" -> "Layer 1 (conv): activations". */
function animationTitle(name: string): string {
  const m = /^(\d+)-(.+?)-(activations|activation-gradients|weights|weight-gradients)$/.exec(name);
  return m ? `Layer ${Number(m[1])} (${m[2]}): ${m[3].replace('-', ' ')}` : name;
}

function pct(v: number): string {
  return `${(100 * v).toFixed(1)}%`;
}

function shape(s: readonly number[]): string {
  return s.join(' × ');
}

/** Layer health: the four plots, each with its plain-words reading, and the latest epoch's numbers. */
async function healthHtml(metrics: readonly EpochMetrics[], files: Files): Promise<string> {
  const last = [...metrics].sort((a, b) => a.epoch - b.epoch).filter((m) => m.health).pop();
  if (!last?.health) return '';
  const parts = ['<h2 id="health">Layer health over training</h2>',
    `<p class="explain-q">The CS231n checklist, measured while training: gradient norm and update-to-weight ratio on every step (averaged over tenths of an epoch), activation statistics and dead ReLUs on ${last.health.subsetImages} fixed test images at the end of each epoch. All numbers are in metrics.jsonl (field <code>health</code>).</p>`];
  const figs: string[] = [];
  for (const h of HEALTH_EXPLANATIONS) {
    const f = `${PLOTS_DIR}/${h.plot}.png`;
    if (!(await files.exists(f))) continue;
    figs.push(`<figure class="health"><p class="explain-q"><b>${esc(h.title)}.</b> ${esc(h.what)} <b>Healthy:</b> ${esc(h.healthy)} <b>A problem:</b> ${esc(h.problem)}</p><a href="${url(f)}"><img src="${url(f)}" alt="${esc(h.title)}"></a></figure>`);
  }
  parts.push(`<div class="healthgrid">${figs.join('\n')}</div>`);
  const rows = healthVerdicts(last.health).map((v) => `<tr><td class="l">${esc(v.layer)}</td><td>${v.gradNorm}</td><td>${v.updateRatio}</td><td>${v.mean}</td><td>${v.std}</td><td>${v.dead}</td><td class="l">${esc(v.verdict)}</td></tr>`);
  parts.push(`<p>Epoch ${last.epoch}, per layer:</p><table class="healthtable"><thead><tr><th class="l">layer</th><th>gradient norm</th><th>update / weight</th><th>activation mean</th><th>activation std</th><th>dead ReLUs</th><th class="l">reading</th></tr></thead><tbody>${rows.join('')}</tbody></table>`);
  return parts.join('\n');
}

function metricsTable(metrics: readonly EpochMetrics[]): string {
  if (metrics.length === 0) return '';
  // Test accuracy on records 0..999 alone, when the run measured it (a test split of more than 1,000).
  const first = metrics.some((m) => m.testAccuracyFirst1000 !== undefined);
  const rows = [...metrics]
    .sort((a, b) => b.epoch - a.epoch)
    .map(
      (m) =>
        `<tr><td>${m.epoch}</td><td>${m.trainLoss.toFixed(4)}</td><td>${m.testLoss.toFixed(4)}</td><td>${pct(m.trainAccuracy)}</td><td>${pct(m.testAccuracy)}</td>` +
        (first ? `<td>${m.testAccuracyFirst1000 === undefined ? '' : pct(m.testAccuracyFirst1000)}</td>` : '') +
        `<td>${m.seconds.toFixed(1)}</td><td>${Math.round(m.imagesPerSecond)}</td></tr>`,
    )
    .join('\n');
  const firstHead = first ? '<th title="test accuracy on test images 0..999 alone">test acc., first 1,000</th>' : '';
  const note = first
    ? '<p class="muted">"test acc., first 1,000": the same evaluation on test images 0..999 alone (useful when the rest of the test split may differ from them, e.g. a copy of CIFAR-10 whose later test images were rebuilt from compressed files).</p>'
    : '';
  return `<table><thead><tr><th>epoch</th><th>train loss</th><th>test loss</th><th>train acc.</th><th>test acc.</th>${firstHead}<th>seconds</th><th>images/s</th></tr></thead><tbody>\n${rows}\n</tbody></table>${note}`;
}

/** The confusion matrix as an HTML table, cells shaded by the fraction of the true class's images. */
export function confusionTable(matrix: number[][], classNames: string[]): string {
  const K = matrix.length;
  const name = (i: number): string => esc(classNames[i] ?? `${i}`);
  let total = 0;
  let correct = 0;
  const head = `<tr><th class="l">true \\ predicted</th>${Array.from({ length: K }, (_, j) => `<th>${name(j)}</th>`).join('')}<th>correct</th></tr>`;
  const body = matrix
    .map((row, i) => {
      const n = row.reduce((a, b) => a + b, 0);
      total += n;
      correct += row[i] ?? 0;
      const cells = row
        .map((v, j) => {
          const f = n > 0 ? v / n : 0;
          const bg = `rgba(33,102,172,${(0.85 * f).toFixed(3)})`;
          const fg = f > 0.5 ? '#fff' : '#1d1d1f';
          return `<td class="${i === j ? 'diag' : ''}" style="background:${bg};color:${fg}" title="${name(i)} classified as ${name(j)}: ${v} of ${n}">${v}</td>`;
        })
        .join('');
      return `<tr><th class="l">${name(i)}</th>${cells}<td>${n > 0 ? pct((row[i] ?? 0) / n) : '-'}</td></tr>`;
    })
    .join('\n');
  const acc = total > 0 ? ` Overall: ${correct} of ${total} correct (${pct(correct / total)}).` : '';
  return `<table class="confusion"><thead>${head}</thead><tbody>\n${body}\n</tbody></table><p class="muted">Rows: the true class; columns: the class the network chose. Darker = a larger share of that row's images.${acc}</p>`;
}

function probeTable(preds: ProbePrediction[], scoreKind: 'probability' | 'score'): string {
  const fmt = (p: number): string => (scoreKind === 'probability' ? pct(p) : formatNumber(p));
  const rows = preds
    .map(
      (p) =>
        `<tr><td>${p.row}</td><td>${p.testIndex}</td><td class="l">${esc(p.labelName)}</td>${p.top3
          .map((t, k) => `<td class="l${k === 0 ? (p.correct ? ' ok' : ' bad') : ''}">${esc(t.name)} ${fmt(t.p)}</td>`)
          .join('')}</tr>`,
    )
    .join('\n');
  return `<table><thead><tr><th>row</th><th>test index</th><th class="l">true class</th><th class="l">1st</th><th class="l">2nd</th><th class="l">3rd</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

/** The numbers under a picture: range, zero fraction, scale and clipped count. */
function pictureNumbers(layer: LayerVizSummary, q: Quantity): string {
  const r = layer.ranges[q];
  if (!r) return '';
  const parts = [`min ${formatNumber(r.min)}`, `max ${formatNumber(r.max)}`, `mean ${formatNumber(r.mean)}`, `std ${formatNumber(r.std)}`, `<b>exactly zero: ${explainPct(r.zeroFraction)}</b>`];
  const sc = layer.scales?.[q];
  if (sc && sc.scale > 0) parts.push(`colour scale s = ${formatNumber(sc.scale)}${sc.clipped > 0 ? `, ${sc.clipped.toLocaleString('en-US')} of ${sc.count.toLocaleString('en-US')} values beyond s (drawn in the end colour)` : ''}`);
  return parts.join(' · ');
}

function patchesFigure(layer: LayerVizSummary, png: string, subset: number, epoch: number): string {
  const which = layer.words?.topPatches ?? '';
  return `<figure class="patches" data-quantity="top-patches"><p class="explain-q"><b>What each channel responds to.</b> For every channel, the 9 patches of the ${subset} fixed test images that excite it most (best first, its value under each), cropped to the channel\u2019s receptive field: the image pixels its output depends on. ${esc(which)}</p><div class="scroll"><a href="${url(png)}"><img src="${url(png)}" loading="lazy" alt="layer ${layer.index} top patches epoch ${epoch}"></a></div></figure>`;
}

async function layerHtml(layers: readonly LayerVizSummary[], li: number, files: Files, epoch: number, at = { prefix: `e${epoch}`, label: `epoch ${epoch}` }): Promise<string> {
  const layer = layers[li];
  const key = layer.explain;
  const facts: string[] = [
    `<tr><th class="l">output shape (per image)</th><td class="l">${shape(layer.outShape)}</td></tr>`,
    `<tr><th class="l">parameters</th><td class="l">${layer.paramCount.toLocaleString('en-US')}${layer.weightShape ? ` (weights ${shape(layer.weightShape)}${layer.paramCount > layer.weightShape.reduce((a, d) => a * d, 1) ? ' + biases' : ''})` : ''}</td></tr>`,
  ];
  const ranges = QUANTITIES.filter((q) => layer.ranges[q] && !layer.noPicture?.[q])
    .map((q) => {
      const r = layer.ranges[q]!;
      return `<tr><th class="l">${QUANTITY_TITLES[q]}</th><td>${formatNumber(r.min)}</td><td>${formatNumber(r.max)}</td><td>${formatNumber(r.mean)}</td><td>${formatNumber(r.std)}</td><td>${explainPct(r.zeroFraction ?? 0)}</td></tr>`;
    })
    .join('');
  const figs: string[] = [];
  for (const q of QUANTITIES) {
    const reason = layer.noPicture?.[q];
    if (reason) {
      figs.push(`<figure class="nopic" data-quantity="${q}"><p class="explain-q"><b>${QUANTITY_TITLES[q]}.</b> ${esc(reason)}</p></figure>`);
      continue;
    }
    const f = layer.files[q];
    if (!f || !(await files.exists(f))) continue;
    const explain = layer.words?.pictures[q] ?? '';
    const fig = `<figure data-quantity="${q}"><p class="explain-q"><b>${QUANTITY_TITLES[q]}.</b> ${esc(explain)}</p><p class="numbers">${pictureNumbers(layer, q)}</p><div class="scroll"><a href="${url(f)}"><img src="${url(f)}" loading="lazy" alt="layer ${layer.index} ${esc(q)} ${esc(at.label)}"></a></div></figure>`;
    // What each channel responds to: beside the filters (conv); after the gradients for layers without weights.
    const p = layer.patches;
    if (p && q === 'weights' && (await files.exists(p.png))) {
      figs.push(`<div class="side">${fig}${patchesFigure(layer, p.png, p.subsetImages, epoch)}</div>`);
    } else {
      figs.push(fig);
    }
  }
  if (layer.patches && !layer.weightShape && (await files.exists(layer.patches.png))) {
    figs.push(patchesFigure(layer, layer.patches.png, layer.patches.subsetImages, epoch));
  }
  for (const x of layer.extras ?? []) {
    if (!(await files.exists(x.file))) continue;
    const [title, text] = layer.words?.[x.kind] ?? [x.kind, ''];
    figs.push(`<figure data-quantity="${x.kind}"><p class="explain-q"><b>${title}.</b> ${esc(text)}</p><div class="scroll"><a href="${url(x.file)}"><img src="${url(x.file)}" loading="lazy" alt="layer ${layer.index} ${x.kind} epoch ${epoch}"></a></div></figure>`);
  }
  const stats = (await files.exists(layer.statsFile)) ? ` <a href="${url(layer.statsFile)}">stats.json</a>` : '';
  const note = layer.words?.what ?? '';
  return `<article class="layer" id="${at.prefix}-l${layer.index}" data-kind="${esc(key)}">
<h3>Layer ${layer.index} · ${esc(layer.type)} <span class="muted">— ${esc(layer.description)}</span></h3>
${note ? `<p class="what">${esc(note)}</p>` : ''}
<div class="facts"><table>${facts.join('')}</table>
<table style="margin-top:6px"><thead><tr><th class="l">quantity</th><th>min</th><th>max</th><th>mean</th><th>std</th><th>exactly 0</th></tr></thead><tbody>${ranges}</tbody></table>${stats}</div>
<div class="pics">${figs.join('\n')}</div>
</article>`;
}

const ACTIVATION_ROLES = ['gate', 'leaky-gate', 'squash'];

/** The first layer matching `test`, or undefined. */
function first(L: readonly LayerVizSummary[], test: (l: LayerVizSummary) => boolean): LayerVizSummary | undefined {
  return L.find(test);
}

/** "layer 3, relu" for a sentence. */
function named(l: LayerVizSummary): string {
  return `layer ${l.index} (${l.type})`;
}

/**
 * What training batches measured for a layer's weight gradient, epoch by epoch (the gradient-norm chart):
 * the claim "it shrinks as the loss falls" is checked against these numbers, not assumed.
 */
function gradNormTrend(metrics: readonly EpochMetrics[], layer: number): string {
  const sorted = [...metrics].sort((a, b) => a.epoch - b.epoch);
  const lossFell = sorted.length >= 2 && sorted[sorted.length - 1].trainLoss < sorted[0].trainLoss;
  const pts = [...metrics].sort((a, b) => a.epoch - b.epoch).map((m) => ({ e: m.epoch, g: m.health?.layers.find((h) => h.layer === layer)?.gradNorm })).filter((p): p is { e: number; g: number } => p.g !== undefined);
  if (pts.length === 0) return '';
  const a = pts[0];
  const b = pts[pts.length - 1];
  if (pts.length === 1) return ` On the training batches of epoch ${a.e} its weight-gradient norm averaged ${formatNumber(a.g)} (the gradient-norm chart).`;
  const ratio = b.g / a.g;
  const trend = ratio > 1.1 ? 'rose' : ratio < 0.9 ? 'fell' : 'stayed about the same';
  const why = ratio > 1.1 && lossFell
    ? ' The training loss fell meanwhile: a layer\u2019s gradient need not shrink while the loss falls (early on it often grows, as the layers above learn to use that layer).'
    : '';
  return ` On the training batches (the gradient-norm chart) its weight-gradient norm ${trend}: ${formatNumber(a.g)} in epoch ${a.e}, ${formatNumber(b.g)} in epoch ${b.e}.${why}`;
}

/** The links to this epoch's walkthroughs that exist. */
function walkLinks(s: EpochVizSummary): string {
  const e = s.epoch;
  const links = [
    s.walkthrough ? `<a href="#e${e}-walkthrough">walkthrough: conv → ReLU → pool</a>` : '',
    s.bnWalkthrough ? `<a href="#e${e}-walkthrough-batchnorm">walkthrough: conv → batch norm → ReLU</a>` : '',
    s.residualWalkthrough ? `<a href="#e${e}-walkthrough-residual">walkthrough: residual block</a>` : '',
  ].filter(Boolean);
  return links.length ? ` · ${links.join(' · ')}` : '';
}

/**
 * The learner's four questions, answered for any network with this run's numbers, each linking to the
 * layer (latest epoch) whose pictures show it: the input, the first conv, the first activation, and the
 * first pool or stride-2 conv. The section is always there (its link in the header too).
 */
function questionsHtml(s: EpochVizSummary | undefined, metrics: readonly EpochMetrics[]): string {
  const head = '<h2 id="questions">Four questions, answered with this run</h2>';
  if (!s || s.layers.length === 0) return `${head}<p class="muted">No pictures yet: the answers appear after the first epoch with pictures.</p>`;
  const L = s.layers;
  const e = s.epoch;
  const z = (l: LayerVizSummary, q: Quantity): string => explainPct(l.ranges[q]?.zeroFraction ?? 0);
  const link = (l: LayerVizSummary): string => `<a href="#e${e}-l${l.index}">Layer ${l.index} (${esc(l.type)})</a>`;
  const words = (l: LayerVizSummary, q: Quantity): string => esc(l.words?.pictures[q] ?? '');
  const conv = first(L, (l) => l.role === 'filter');
  const act = first(L, (l) => ACTIVATION_ROLES.includes(l.role ?? ''));
  const down = first(L, (l) => l.role === 'window-max' || l.role === 'window-mean' || (l.role === 'filter' && Number(l.config?.stride) >= 2));
  const items = [
    `<b>What is the input layer\u2019s \u201cactivation\u201d, and what is the second picture beside the image?</b> The activation is the image itself: the input layer computes nothing. The picture beside it is not a copy: it is d(loss)/d(pixel), a saliency map of which pixels the loss is sensitive to. ${link(L[0])}`,
    conv
      ? `<b>What do a conv layer\u2019s activations and activation gradients show, and what should its weight gradients show?</b> Activations: one map per filter (tile k comes from filter k), large where the image looks like the filter. Activation gradients of ${esc(named(conv))}: ${words(conv, 'activation-gradients')} Weight gradients: input patches summed over every position with those gradients as weights (one filter is shared by all positions); the update moves the filters the opposite way.${esc(gradNormTrend(metrics, conv.index))} ${link(conv)}`
      : '<b>What do a conv layer\u2019s pictures show?</b> This network has no conv layer: every layer with weights is fully connected, so each weight is used once per image, not at every position.',
    act
      ? `<b>${act.role === 'gate' ? 'ReLU maps are black or shades of colour, but what is the ReLU layer\u2019s activation gradient?' : `What is the activation gradient of ${esc(named(act))}, the first non-linearity?`}</b> ${words(act, 'activation-gradients')} ${link(act)}`
      : '<b>What is the activation layer\u2019s gradient?</b> This network has no activation layer (no ReLU, sigmoid or tanh): it is linear from input to loss.',
    down
      ? down.role === 'filter'
        ? `<b>There is no pooling layer: how does this network make its maps smaller, and what does that do to the gradient?</b> Layer ${down.index} is a conv with stride ${Number(down.config?.stride)}: it computes its filters only at every ${Number(down.config?.stride) === 2 ? 'other' : `${Number(down.config?.stride)}th`} position, so its maps are smaller, and it learns how to downsample instead of taking a fixed max. Its backward sends each output\u2019s gradient back through its filters to the whole window, so the gradient below is not sparse the way a max pool\u2019s is (its own output gradient: ${z(down, 'activation-gradients')} zeros). ${link(down)}`
        : `<b>What is the pooling layer\u2019s activation gradient, and why does it look ${down.role === 'window-max' ? 'sparse' : 'smooth'}?</b> ${words(down, 'activation-gradients')} ${link(down)}`
      : '<b>What does pooling do?</b> This network neither pools nor uses a stride-2 conv: every layer keeps the input\u2019s width and height.',
  ];
  return `${head}<p class="muted">Epoch ${e}${s.step === undefined ? '' : `, step ${s.step}`}${walkLinks(s)}</p><ol class="questions">${items.map((i) => `<li>${i}</li>`).join('')}</ol>`;
}

/** The questions learners ask next, answered with this run's numbers. */
function nextQuestionsHtml(s: EpochVizSummary | undefined): string {
  if (!s || s.layers.length === 0) return '';
  const L = s.layers;
  const e = s.epoch;
  const link = (l: LayerVizSummary, what = `Layer ${l.index} (${l.type})`): string => `<a href="#e${e}-l${l.index}">${esc(what)}</a>`;
  const items: string[] = [];
  const conv = first(L, (l) => l.role === 'filter');
  if (conv?.weightShape) {
    const [k, inC, kh, kw] = conv.weightShape;
    const [, H, W] = conv.outShape;
    const inValues = conv.inputs?.length ? L[conv.inputs[0]]?.outShape.reduce((a, b) => a * b, 1) : undefined;
    const fcWeights = inValues === undefined ? '' : ` A fully connected layer making the same ${k}\u00d7${H}\u00d7${W} outputs from the same ${inValues.toLocaleString('en-US')} inputs would need ${(inValues * k * H * W).toLocaleString('en-US')} weights; this conv has ${(k * inC * kh * kw).toLocaleString('en-US')}.`;
    items.push(`<b>Weight sharing: why does one filter\u2019s gradient look like a picture?</b> Each of the ${k} filters of ${esc(named(conv))} (${inC}\u00d7${kh}\u00d7${kw} weights) is used at all ${(H * W).toLocaleString('en-US')} positions of every image. Its gradient is therefore the sum, over every position of every probe image, of the input patch there times the activation gradient there: patches where the gradient was large dominate, and the weight-gradient picture looks like them.${fcWeights} ${link(conv, 'its weight gradients')}`);
  }
  const act = first(L, (l) => ACTIVATION_ROLES.includes(l.role ?? ''));
  const acts = L.filter((l) => ACTIVATION_ROLES.includes(l.role ?? '')).length;
  if (act) {
    const fired = act.ranges.activations ? 1 - act.ranges.activations.zeroFraction : undefined;
    const gate = act.role === 'gate' && fired !== undefined ? ` Here ${esc(named(act))} fired at ${explainPct(fired)} of the probe\u2019s values: there its derivative is exactly 1, however large the input, so the gradient passes at full size (a sigmoid\u2019s derivative is at most 0.25, and near 0 when it saturates: ten of them in a row shrink a gradient at least a million times).` : '';
    items.push(`<b>Why does the network need a non-linearity?</b> A conv or fully connected layer is linear: two of them in a row compute one linear map (the product of their matrices), so a stack of them without anything between is no more powerful than one layer. This network has ${acts} non-linear activation layer${acts === 1 ? '' : 's'}; each bends the map, which is what lets depth add power.${gate} ${link(act)}`);
  }
  const bw = s.bnWalkthrough?.data;
  if (bw) {
    const p = bw.perChannel[0];
    items.push(`<b>What does batch norm do?</b> Per channel it subtracts a mean and divides by a standard deviation, then multiplies by \u03b3 and adds \u03b2: every channel arrives at the next layer at a scale the network chose, whatever scale the conv gave it, which lets larger learning rates work. In training it uses the batch\u2019s statistics; at test time (and in every picture here) the running averages. Example, ${esc(named(L[bw.layers.bn]))} channel ${p.channel}: running mean ${formatNumber(p.runningMean)}, \u03c3 ${formatNumber(p.runningStd)}, \u03b3 ${formatNumber(p.gamma)}, \u03b2 ${formatNumber(p.beta)}; on probe image ${bw.row} the conv output of that channel has mean ${formatNumber(p.convMean)} and spread ${formatNumber(p.convStd)}, batch norm\u2019s output mean ${formatNumber(p.bnMean)} and spread ${formatNumber(p.bnStd)}. Backward it multiplies the channel\u2019s gradient by \u03b3/\u03c3 = ${formatNumber(p.gammaOverSigma)} (measured ratio of the gradient norms: ${formatNumber(p.gradRatio)}). <a href="#e${e}-walkthrough-batchnorm">walkthrough</a>`);
  } else if (L.some((l) => l.role === 'normalise')) {
    const bn = first(L, (l) => l.role === 'normalise')!;
    items.push(`<b>What does batch norm do?</b> Per channel it subtracts a mean and divides by a standard deviation, then multiplies by \u03b3 and adds \u03b2, so every channel leaves at a scale the network chose. ${link(bn)}`);
  }
  const rw = s.residualWalkthrough?.data;
  if (rw) {
    const rows = rw.blocks.map((b) => `<tr><td class="l">${esc(b.name)} (layer ${b.block.add})</td><td>${b.block.shortcutLayers === 0 ? 'identity' : 'projection'}</td><td>${formatNumber(b.atAdd)}</td><td>${b.shortcutPart === undefined ? '' : formatNumber(b.shortcutPart)}</td><td>${b.branchPart === undefined ? '' : formatNumber(b.branchPart)}</td><td>${formatNumber(b.atStart)}</td></tr>`).join('');
    const id = rw.blocks.filter((b) => b.branchPart !== undefined);
    const parts = id.map((b) => `${esc(b.name)}: via the shortcut ${formatNumber(b.shortcutPart!)}, via the branch ${formatNumber(b.branchPart!)}`).join('; ');
    items.push(`<b>Why do residual connections help?</b> The add passes its gradient unchanged to the shortcut, so the gradient reaches the block\u2019s input without going through the block\u2019s convs and batch norms, however deep the network; the branch adds its own part on top. Without the shortcut only the branch\u2019s part would arrive, and it passes through every layer of the branch, each able to shrink it. Measured on the probe images (gradient norms, all images together)${id.length ? ` at the input of the blocks with an identity shortcut: ${parts}` : ''}; a projection shortcut is a 1x1 conv and batch norm, so there the two parts are not separated. <a href="#e${e}-walkthrough-residual">walkthrough</a><table class="norms"><thead><tr><th class="l">block (add)</th><th>shortcut</th><th>at the add</th><th>via the shortcut</th><th>via the branch</th><th>at the block\u2019s input</th></tr></thead><tbody>${rows}</tbody></table>`);
  }
  if (items.length === 0) return '';
  return `<h2 id="next-questions">Next questions, answered with this run</h2><ol class="questions">${items.map((i) => `<li>${i}</li>`).join('')}</ol>`;
}

/** What goes through the network for the pictures: the user's own image (visualize --image) or the probe test images. */
function probeIntro(probe: EpochVizSummary['probe'] | undefined): string {
  const user = probe?.userImage;
  if (!user) return 'Every epoch, the same few test images (the <i>probe</i>) go through the network once forward and once backward (loss against their true labels).';
  const label = probe.predictions[0]?.labelName ?? '';
  const against = user.labelFrom === 'option' ? 'the class you gave with --label' : 'the network\u2019s own prediction';
  return `Your image, <b>${esc(basename(user.file))}</b>, goes through the network once forward and once backward. It has no true label, so the loss, and every gradient, is measured against <b>${esc(label)}</b> (${against}); every picture has one row: your image.`;
}

/** The walkthrough section: the answers to "what is the ReLU's / the pool's gradient" on one image. */
function walkthroughHtml(png: string, d: WalkthroughData, epoch: number, prefix = `e${epoch}`, label = `epoch ${epoch}`, userImage = false): string {
  const z = d.zeroFractions;
  const L = d.layers;
  return `<section class="walkthrough" id="${prefix}-walkthrough">
<h3>Walkthrough: one image through conv → ReLU → pool, forward and backward</h3>
<p class="explain-q">${userImage ? 'Your image' : `Probe image ${d.row}`}, channels ${d.channels.join(', ')}. <b>Forward</b>: the conv (layer ${L.conv}) outputs a signed map; the ReLU (layer ${L.relu}) keeps the positive values and sets the rest to 0 (it was off at <b>${explainPct(z.reluActivations)}</b> of this image’s positions); the max pool (layer ${L.pool}) keeps only the largest value of each window, the <i>winner</i> (${explainPct(d.winnerFraction)} of positions win).</p>
<p class="explain-q"><b>Backward</b>, right to left: the gradient arriving at the pool’s output, d(loss)/d(pool output), is dense (<b>${explainPct(z.poolOutputGradient)}</b> zeros). The pool sends each of those values to its window’s winner and 0 to the other positions, so the <b>ReLU’s activation gradient</b>, d(loss)/d(ReLU output), is sparse: <b>${explainPct(z.reluOutputGradient)}</b> exactly zero. The ReLU passes that gradient only where it fired (its derivative is 1 for x &gt; 0 and 0 otherwise), so the <b>conv’s activation gradient</b> is zero at those positions too: <b>${explainPct(z.convOutputGradient)}</b> zeros. The conv’s weight gradient sums input patches weighted by exactly this sparse map.</p>
<div class="scroll"><a href="${url(png)}"><img src="${url(png)}" loading="lazy" alt="walkthrough ${esc(label)}"></a></div>
</section>`;
}

/** The conv -> batch norm -> ReLU walkthrough section. */
function bnWalkthroughHtml(png: string, d: BnWalkthroughData, prefix: string, label: string): string {
  const p = d.perChannel;
  return `<section class="walkthrough" id="${prefix}-walkthrough-batchnorm">
<h3>Walkthrough: one image through conv → batch norm → ReLU, forward and backward</h3>
<p class="explain-q">Probe image ${d.row}, channels ${d.channels.join(', ')} of layers ${d.layers.conv} (conv), ${d.layers.bn} (batch norm) and ${d.layers.relu} (ReLU). <b>Forward</b>: batch norm takes each channel of the conv output, subtracts its running mean, divides by its running standard deviation σ, then multiplies by γ and adds β (the probe runs in evaluation mode, so these are the running statistics, not this batch’s). ${p.map((c) => `Channel ${c.channel}: conv output mean ${formatNumber(c.convMean)}, spread ${formatNumber(c.convStd)} → batch norm output mean ${formatNumber(c.bnMean)}, spread ${formatNumber(c.bnStd)} (γ ${formatNumber(c.gamma)}, β ${formatNumber(c.beta)}); the ReLU is off at ${explainPct(c.reluOff)} of its positions.`).join(' ')}</p>
<p class="explain-q"><b>Backward</b>, right to left: the ReLU passes its output gradient (norm ${formatNumber(d.norms.reluOut)} on this image) only where it fired, giving batch norm’s output gradient (norm ${formatNumber(d.norms.bnOut)}); batch norm multiplies each channel by γ/σ, giving the conv’s output gradient (norm ${formatNumber(d.norms.convOut)}). ${p.map((c) => `Channel ${c.channel}: γ/σ = ${formatNumber(c.gammaOverSigma)}, measured ratio ${formatNumber(c.gradRatio)}.`).join(' ')} In training, batch norm’s backward also removes the gradient’s mean over the batch and its part along the normalised values, because there the statistics depend on every image of the batch.</p>
<div class="scroll"><a href="${url(png)}"><img src="${url(png)}" loading="lazy" alt="batch norm walkthrough ${esc(label)}"></a></div>
</section>`;
}

/** The residual-block walkthrough section. */
function residualWalkthroughHtml(png: string, d: ResidualWalkthroughData, prefix: string, label: string): string {
  const n = d.drawn;
  const b = n.block;
  const parts = n.shortcutPart !== undefined
    ? `At the block’s input (layer ${b.start}) the gradient is the sum of two parts: the shortcut’s, which is the add’s gradient unchanged (norm <b>${formatNumber(n.shortcutPart)}</b>), and the branch’s, what came back through its ${b.branchLayers} layers (norm <b>${formatNumber(n.branchPart!)}</b>); together <b>${formatNumber(n.atStart)}</b>.`
    : `This block’s shortcut is a projection (${b.shortcutLayers} layers), so the two parts are not separated here; at the block’s input (layer ${b.start}) the gradient norm is ${formatNumber(n.atStart)}.`;
  return `<section class="walkthrough" id="${prefix}-walkthrough-residual">
<h3>Walkthrough: a residual block, forward and backward</h3>
<p class="explain-q">Block ${esc(n.name)}: the add (layer ${b.add}) sums the block’s own path, ending at layer ${b.branch} (norm of its output over the probe images ${formatNumber(n.branchOut)}), and the shortcut, ${b.shortcutLayers === 0 ? `the block’s input itself (layer ${b.start})` : `layer ${b.shortcut}`} (norm ${formatNumber(n.shortcutOut)}). <b>Backward</b>: the add hands its gradient (norm <b>${formatNumber(n.atAdd)}</b>) unchanged to both paths. ${parts} Norms are over all probe images; the picture shows probe image ${d.row}, channels ${d.channels.join(', ')}.</p>
<div class="scroll"><a href="${url(png)}"><img src="${url(png)}" loading="lazy" alt="residual walkthrough ${esc(label)}"></a></div>
</section>`;
}

async function epochHtml(summary: EpochVizSummary, run: ReportRunInfo, files: Files): Promise<string> {
  const e = summary.epoch;
  const at = moment(summary);
  const isStep = summary.step !== undefined;
  const heading = isStep ? `Step ${summary.step} <span class="muted">(during epoch ${e + 1}: drawn while training, --viz-steps)</span>` : `Epoch ${e}`;
  const parts: string[] = [`<section class="epoch" id="${at.id}">`, `<h2>${heading}</h2>`];
  const m = isStep ? undefined : run.metrics.find((x) => x.epoch === e);
  if (m) {
    parts.push(`<p>Training loss ${m.trainLoss.toFixed(4)}, test loss ${m.testLoss.toFixed(4)}; training accuracy ${pct(m.trainAccuracy)}, test accuracy ${pct(m.testAccuracy)}.</p>`);
  }
  parts.push(`<p class="muted">Colour scale of these pictures: <b>${esc(summary.scaleMode)}</b>.</p>`);
  // Probe.
  const probe = summary.probe;
  const user = probe.userImage;
  if (user) {
    const label = probe.predictions[0]?.labelName ?? '';
    parts.push('<h3>Your image and the prediction</h3>');
    parts.push(`<p class="explain-q">${esc(user.file)}, ${user.width}\u00d7${user.height} px${user.width === 32 && user.height === 32 ? '' : ', resized (stretched, not cropped) to the network\u2019s input size: that small picture is what every layer below sees'}. There is no true label: the loss, and so every gradient below, is measured against <b>${esc(label)}</b> (${user.labelFrom === 'option' ? 'the class you gave with --label' : 'the network\u2019s own prediction; choose another with --label'}).</p>`);
  } else {
    parts.push('<h3>Probe images and predictions</h3>');
    parts.push('<p class="muted">The same test images every epoch; every picture below has one row per probe image, in this order.</p>');
  }
  if (probe.png && (await files.exists(probe.png))) parts.push(`<p class="probe"><a href="${url(probe.png)}"><img src="${url(probe.png)}" loading="lazy" alt="probe images ${esc(at.label)}"></a></p>`);
  if (probe.predictions.length > 0 && !user) parts.push(probeTable(probe.predictions, probe.scoreKind));
  if (await files.exists(probe.json)) parts.push(`<p><a href="${url(probe.json)}">probe.json</a></p>`);
  // Confusion matrix.
  const conf = isStep ? undefined : run.confusion?.find((c) => c.epoch === e);
  if (conf) {
    parts.push(`<h3>Test-set confusion matrix, epoch ${e}</h3>`);
    parts.push(confusionTable(conf.matrix, run.classNames));
  }
  const walk = summary.walkthrough;
  if (walk && (await files.exists(walk.png))) parts.push(walkthroughHtml(walk.png, walk.data, e, at.prefix, at.label, user !== undefined));
  const bnw = summary.bnWalkthrough;
  if (bnw && (await files.exists(bnw.png))) parts.push(bnWalkthroughHtml(bnw.png, bnw.data, at.prefix, at.label));
  const rw = summary.residualWalkthrough;
  if (rw && (await files.exists(rw.png))) parts.push(residualWalkthroughHtml(rw.png, rw.data, at.prefix, at.label));
  parts.push('<h3>Layers</h3>');
  for (let i = 0; i < summary.layers.length; i++) parts.push(await layerHtml(summary.layers, i, files, e, at));
  parts.push('</section>');
  return parts.join('\n');
}

/**
 * Writes <outDir>/index.html (and the plots). Reads each epoch's epoch-NNN/epoch.json written by
 * writeEpochViz; links only files that exist.
 */
export async function writeReport(outDir: string, run: ReportRunInfo): Promise<void> {
  const files = new Files(outDir);
  await writePlots(outDir, run.metrics);
  const epochs = [...(run.epochs ?? (await listEpochs(outDir)))].sort((a, b) => b - a);
  const summaries = (
    await Promise.all(epochs.map((e) => readJson<EpochVizSummary>(join(outDir, epochDirName(e), EPOCH_INDEX_FILE))))
  ).filter((s): s is EpochVizSummary => s !== undefined && Array.isArray(s.layers));
  // --viz-steps pictures, in training order with the epochs: latest first.
  const stepSummaries = (await Promise.all((await listSteps(outDir)).map((st) => readJson<EpochVizSummary>(join(outDir, stepDirName(st), EPOCH_INDEX_FILE)))))
    .filter((x): x is EpochVizSummary => x !== undefined && Array.isArray(x.layers) && typeof x.step === 'number');
  const epochCount = summaries.length;
  summaries.push(...stepSummaries);
  summaries.sort((a, b) => b.epoch - a.epoch || (b.step ?? -1) - (a.step ?? -1));
  // An animation of one frame shows no change: list animations from the second epoch with pictures.
  const animations = (await listAnimationFiles(outDir)).filter((a) => a.frames >= 2);
  const scaleMode = run.scaleMode ?? summaries[0]?.scaleMode ?? 'layer';

  // The latest epoch (not a --viz-steps moment) answers the questions, with the metrics up to it.
  const latest = summaries.find((x) => x.step === undefined) ?? summaries[0];
  const nextQuestions = nextQuestionsHtml(latest);
  const body: string[] = [];
  body.push(`<header><h1>${esc(run.name)}</h1>`);
  body.push(`<p class="muted">cnnviz report · updated ${esc(new Date().toISOString().replace('T', ' ').slice(0, 19))} UTC · ${epochCount} epoch${epochCount === 1 ? '' : 's'}${stepSummaries.length ? ` and ${stepSummaries.length} step${stepSummaries.length === 1 ? '' : 's'}` : ''} with pictures · colour scale mode: ${esc(scaleMode)}</p>`);
  body.push(`<nav><a href="#questions">Four questions</a>${nextQuestions ? '<a href="#next-questions">Next questions</a>' : ''}<a href="#how-to-read">How to read the pictures</a><a href="#curves">Training curves</a><a href="#health">Layer health</a>${animations.length ? '<a href="#animations">Change across epochs</a>' : ''}${summaries.length ? '<a href="#epochs">Pictures by epoch</a>' : ''}</nav></header><main>`);
  body.push('<h2 id="model">Model</h2>');
  body.push(`<pre class="model">${esc(run.model)}</pre>`);
  body.push(`<p>Classes: ${run.classNames.map(esc).join(', ')}.</p>`);
  if (run.details && Object.keys(run.details).length > 0) {
    body.push(`<table>${Object.entries(run.details).map(([k, v]) => `<tr><th class="l">${esc(k)}</th><td class="l">${esc(String(v))}</td></tr>`).join('')}</table>`);
  }

  body.push(questionsHtml(latest, run.metrics));
  if (nextQuestions) body.push(nextQuestions);
  body.push('<h2 id="how-to-read">How to read the pictures</h2>');
  body.push(`<p>${probeIntro(summaries[0]?.probe)} For every layer that gives four pictures:</p>`);
  body.push(`<dl class="explain">${QUANTITIES.map((q) => `<dt>${QUANTITY_TITLES[q]}</dt><dd>${esc(REPORT_EXPLANATIONS[q])}</dd>`).join('')}</dl>`);
  body.push(`<p id="which-gradient"><b>Which gradient.</b> ${esc(WHICH_GRADIENT)}</p>`);
  body.push('<p><b>Colours.</b></p><ul>');
  for (const c of COLOUR_EXPLANATION) body.push(`<li>${esc(c)}</li>`);
  body.push('</ul><p class="muted">Each picture\u2019s caption names the layer, the quantity, the epoch and the scale; its colour bar prints the numbers at the ends. The same numbers are in the layer\u2019s stats.json.</p>');

  body.push('<h2 id="curves">Training curves</h2>');
  const plots: string[] = [];
  for (const f of [`${PLOTS_DIR}/loss.png`, `${PLOTS_DIR}/accuracy.png`]) {
    if (await files.exists(f)) plots.push(`<a href="${url(f)}"><img src="${url(f)}" alt="${esc(f)}"></a>`);
  }
  body.push(plots.length ? `<div class="plots">${plots.join('')}</div>` : '<p class="muted">No finished epochs yet.</p>');
  body.push(metricsTable(run.metrics));
  body.push(await healthHtml(run.metrics, files));
  const latestConf = [...(run.confusion ?? [])].sort((a, b) => b.epoch - a.epoch)[0];
  if (latestConf && !summaries.some((s) => s.epoch === latestConf.epoch)) {
    body.push(`<h3>Test-set confusion matrix, epoch ${latestConf.epoch}</h3>`);
    body.push(confusionTable(latestConf.matrix, run.classNames));
  }

  if (summaries.length > 0) {
    body.push('<h2 id="epochs">Pictures by epoch</h2>');
    body.push(
      `<div class="epoch-picker"><label>Epoch: <select id="epoch-select">${summaries.map((s) => `<option value="${moment(s).id}">${esc(moment(s).label)}</option>`).join('')}</select></label> <span class="muted">latest first ·</span> ${summaries.map((s) => `<a href="#${moment(s).id}">${moment(s).short}</a>`).join(' ')}</div>`,
    );
    for (const s of summaries) body.push(await epochHtml(s, run, files));
  }

  if (animations.length > 0) {
    body.push('<h2 id="animations">Change across epochs</h2>');
    body.push('<p class="muted">Each animation steps through the epochs so far (the last frame is held longer). All frames of one animation share one colour scale: the run scale, fixed the first epoch the picture was drawn; the caption of each frame names its epoch and counts values beyond the scale.</p>');
    const figs: string[] = [];
    for (const a of animations) {
      if (!(await files.exists(a.file))) continue;
      figs.push(`<figure><a href="${url(a.file)}"><img src="${url(a.file)}" loading="lazy" alt="${esc(a.name)}"></a><figcaption>${esc(animationTitle(a.name))} · ${a.frames} frames</figcaption></figure>`);
    }
    body.push(`<div class="anims">${figs.join('\n')}</div>`);
  }
  body.push('</main><footer><p class="muted">Written by cnnviz. This page needs no server: open it from the file system.</p></footer>');

  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(run.name)} · cnnviz</title>
<style>${CSS}</style>
</head>
<body>
${body.join('\n')}
<script>${JS}</script>
<script>${liveScript()}</script>
</body>
</html>
`;
  await writeFileAtomic(join(outDir, REPORT_FILE), html);
}
