/**
 * <out>/index.html: one static page that opens from the file system (no server, no external URLs).
 * It shows the layers through the explorer (explorer/page.ts: a layer map, one layer at a time, an
 * epoch slider, values under the pointer), the training curves (<out>/plots/loss.png, accuracy.png,
 * batch-level curves), layer health, the latest probe images with their top-3 predictions, the
 * walkthrough and the test-set confusion matrix.
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
import { COLOUR_EXPLANATION, HEALTH_EXPLANATIONS, QUANTITY_TITLES, REPORT_EXPLANATIONS, explainPicture, explanationKey, healthVerdicts, layerNote, pct as explainPct, type PictureFacts } from './explain.js';
import { QUANTITIES, type Quantity } from './grid.js';
import { accuracyPlotSpec, healthPlotSpecs, lossPlotSpec, renderPlotPng } from './plots.js';
import { formatNumber, type VizScaleMode } from './scale.js';
import type { WalkthroughData } from './walkthrough.js';
import type { EpochMetrics } from './types.js';
import { writeExplorer } from './explorer/page.js';
import { healthSparklines } from './explorer/health.js';

/** Titles and explanations of the pictures of particular layer kinds (LayerVizSummary.extras). */
const EXTRA_PICTURES: Record<'channels' | 'branches', [string, string]> = {
  channels: [
    'Per channel: gamma, beta and the running statistics',
    'Batch norm subtracts each channel\u2019s mean and divides by its standard deviation, so every channel leaves with values of mean about 0 and spread about 1, whatever scale the layer below gave them; then gamma multiplies (the grey line marks 1, no change) and beta shifts each channel, so the network can choose the scale it needs. The running mean and variance average the statistics of the training batches; evaluation, and these pictures, normalise with them. Their values are also in stats.json.',
  ],
  branches: [
    'Residual connection: each branch and the sum',
    'Rows: the block\u2019s own path, the skip path (the block\u2019s input, or its 1x1 projection where the shape changes), and their sum, for the first probe image on one colour scale. A residual block only adds a correction to what the skip path carries, and its gradient flows back unchanged to both paths, which is why deep ResNets still train; a faint first row next to a strong skip row means the block changes little.',
  ],
};

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
    return JSON.parse(await fsp.readFile(path, 'utf8')) as T;
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
    // The plots of all layers stay linked; the page shows one small line per layer (explorer/health.ts).
    figs.push(`<p class="explain-q"><b>${esc(h.title)}.</b> ${esc(h.what)} <b>Healthy:</b> ${esc(h.healthy)} <b>A problem:</b> ${esc(h.problem)} <a href="${url(f)}">(all layers in one plot)</a></p>`);
  }
  parts.push(figs.join('\n'), healthSparklines(metrics));
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
    ? '<p class="muted">"test acc., first 1,000": the same evaluation on test images 0..999 alone (useful when the rest of the test split differs from them: in the shared copy of CIFAR-10 cnnviz is developed with, images 1000..9999 were rebuilt from JPEG).</p>'
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

/** The measured facts about a layer's neighbours that its explanations mention. */
function pictureFacts(layers: readonly LayerVizSummary[], i: number, q: Quantity): PictureFacts {
  const l = layers[i];
  const key = (x: LayerVizSummary): string => explanationKey(x.type, x.explain);
  const prev = layers[i - 1];
  const next = layers[i + 1];
  return {
    zeroFraction: l.ranges[q]?.zeroFraction,
    ...(prev ? { prev: { key: key(prev), index: prev.index, actGradZeroFraction: prev.ranges['activation-gradients']?.zeroFraction, actZeroFraction: prev.ranges.activations?.zeroFraction } } : {}),
    ...(next ? { next: { key: key(next), index: next.index, actGradZeroFraction: next.ranges['activation-gradients']?.zeroFraction } } : {}),
  };
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

function patchesFigure(layer: LayerVizSummary, key: string, png: string, subset: number, epoch: number): string {
  const which = key === 'conv'
    ? 'Row k belongs to filter k of the weights: the patches show what that filter has learned to detect in real images, which is often clearer than the filter\u2019s own weights.'
    : key === 'pool'
      ? 'A pooled channel responds to the same things as the ReLU channel below it, over a slightly larger patch.'
      : 'A ReLU is monotonic, so its channels rank images as the conv below does (except channels that never fire: their patches show values of 0).';
  return `<figure class="patches" data-quantity="top-patches"><p class="explain-q"><b>What each channel responds to.</b> For every channel, the 9 patches of the ${subset} fixed test images that excite it most (best first, its value under each), cropped to the channel\u2019s receptive field: the image pixels its output depends on. ${esc(which)}</p><div class="scroll"><a href="${url(png)}"><img src="${url(png)}" loading="lazy" alt="layer ${layer.index} top patches epoch ${epoch}"></a></div></figure>`;
}

async function layerHtml(layers: readonly LayerVizSummary[], li: number, files: Files, epoch: number, at = { prefix: `e${epoch}`, label: `epoch ${epoch}` }): Promise<string> {
  const layer = layers[li];
  const key = explanationKey(layer.type, layer.explain);
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
    const explain = explainPicture(key, q, pictureFacts(layers, li, q));
    const fig = `<figure data-quantity="${q}"><p class="explain-q"><b>${QUANTITY_TITLES[q]}.</b> ${esc(explain)}</p><p class="numbers">${pictureNumbers(layer, q)}</p><div class="scroll"><a href="${url(f)}"><img src="${url(f)}" loading="lazy" alt="layer ${layer.index} ${esc(q)} ${esc(at.label)}"></a></div></figure>`;
    // What each channel responds to: beside the filters (conv); after the gradients for layers without weights.
    const p = layer.patches;
    if (p && q === 'weights' && (await files.exists(p.png))) {
      figs.push(`<div class="side">${fig}${patchesFigure(layer, key, p.png, p.subsetImages, epoch)}</div>`);
    } else {
      figs.push(fig);
    }
  }
  if (layer.patches && !layer.weightShape && (await files.exists(layer.patches.png))) {
    figs.push(patchesFigure(layer, key, layer.patches.png, layer.patches.subsetImages, epoch));
  }
  for (const x of layer.extras ?? []) {
    if (!(await files.exists(x.file))) continue;
    const [title, text] = EXTRA_PICTURES[x.kind];
    figs.push(`<figure data-quantity="${x.kind}"><p class="explain-q"><b>${title}.</b> ${esc(text)}</p><div class="scroll"><a href="${url(x.file)}"><img src="${url(x.file)}" loading="lazy" alt="layer ${layer.index} ${x.kind} epoch ${epoch}"></a></div></figure>`);
  }
  const stats = (await files.exists(layer.statsFile)) ? ` <a href="${url(layer.statsFile)}">stats.json</a>` : '';
  const note = layerNote(key);
  return `<article class="layer" id="${at.prefix}-l${layer.index}" data-kind="${esc(key)}">
<h3>Layer ${layer.index} · ${esc(layer.type)} <span class="muted">— ${esc(layer.description)}</span></h3>
${note ? `<p class="what">${esc(note)}</p>` : ''}
<div class="facts"><table>${facts.join('')}</table>
<table style="margin-top:6px"><thead><tr><th class="l">quantity</th><th>min</th><th>max</th><th>mean</th><th>std</th><th>exactly 0</th></tr></thead><tbody>${ranges}</tbody></table>${stats}</div>
<div class="pics">${figs.join('\n')}</div>
</article>`;
}

/**
 * The learner's four questions, answered in a few words with this run's numbers, each linking to the
 * layer (latest epoch) whose pictures show it. Empty when the network has no conv -> ReLU -> pool chain.
 */
function questionsHtml(s: EpochVizSummary): string {
  const w = s.walkthrough?.data;
  const L = s.layers;
  if (!w || L.length === 0) return '';
  const e = s.epoch;
  const z = (i: number, q: Quantity): string => explainPct(L[i]?.ranges[q]?.zeroFraction ?? 0);
  const link = (i: number, text: string): string => `<a href="#layer-${i}">${esc(text)}</a>`;
  const { conv, relu, pool } = w.layers;
  const items = [
    `<b>What is the input layer\u2019s \u201cactivation\u201d, and what is the second picture beside the image?</b> The activation is the image itself: the input layer computes nothing. The picture beside it is not a copy: it is d(loss)/d(pixel), a saliency map of which pixels the loss is sensitive to. ${link(0, 'Layer 0 (input)')}`,
    `<b>What do a conv layer\u2019s activations and activation gradients show, and what should its weight gradients show?</b> Activations: one map per filter (tile k comes from filter k), large where the image looks like the filter. Activation gradients: d(loss)/d(each map value), zero wherever the ReLU above did not fire or its pool did not pick the position (${z(conv, 'activation-gradients')} zeros here). Weight gradients: input patches summed with those gradients as weights; the update moves the filters the opposite way, and they shrink as the loss falls. ${link(conv, `Layer ${conv} (conv)`)}`,
    `<b>ReLU maps are black or shades of colour, but what is the ReLU layer\u2019s activation gradient?</b> d(loss)/d(ReLU output), the gradient that arrives from the max pool above: non-zero only at the winner of each pool window, so ${z(relu, 'activation-gradients')} of it is exactly zero here. The ReLU passes it down only where it fired (black = did not fire = no gradient below). ${link(relu, `Layer ${relu} (ReLU)`)} \u00b7 <a href="#e${e}-walkthrough">walkthrough</a>`,
    `<b>What is the pooling layer\u2019s activation gradient, and why does it look sparse?</b> The pool\u2019s own output gradient is dense (${z(pool, 'activation-gradients')} zeros): every pooled value feeds the next layer. The sparse picture is one layer down: going backward, the pool hands each value to the single winner of its window and 0 to the others, so the ReLU below receives a gradient that is ${z(relu, 'activation-gradients')} zeros. ${link(pool, `Layer ${pool} (pool)`)} \u00b7 <a href="#e${e}-walkthrough">walkthrough</a>`,
  ];
  return `<h2 id="questions">Four questions, answered with this run (epoch ${e})</h2><ol class="questions">${items.map((i) => `<li>${i}</li>`).join('')}</ol>`;
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

async function epochHtml(summary: EpochVizSummary, run: ReportRunInfo, files: Files, withLayers = true): Promise<string> {
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
  if (withLayers) {
    parts.push('<h3>Layers</h3>');
    for (let i = 0; i < summary.layers.length; i++) parts.push(await layerHtml(summary.layers, i, files, e, at));
  }
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
  // The layers are shown by the explorer (explorer/page.ts): one at a time, with an epoch slider.
  const explorer = summaries.length > 0 ? await writeExplorer(outDir, { summaries, metrics: run.metrics, classNames: run.classNames, animations }) : undefined;
  const questions = summaries[0] ? questionsHtml(summaries[0]) : '';

  const body: string[] = [];
  body.push(`<header><h1>${esc(run.name)}</h1>`);
  body.push(`<p class="muted">cnnviz report · updated ${esc(new Date().toISOString().replace('T', ' ').slice(0, 19))} UTC · ${epochCount} epoch${epochCount === 1 ? '' : 's'}${stepSummaries.length ? ` and ${stepSummaries.length} step${stepSummaries.length === 1 ? '' : 's'}` : ''} with pictures · colour scale mode: ${esc(scaleMode)}</p>`);
  body.push(`<nav>${explorer ? '<a href="#explorer">Layers</a>' : ''}${questions ? '<a href="#questions">Four questions</a>' : ''}<a href="#how-to-read">How to read the pictures</a><a href="#curves">Training curves</a><a href="#health">Layer health</a>${summaries.length ? '<a href="#epochs">Probe images</a>' : ''}</nav></header><main>`);
  if (explorer) body.push('<h2 id="layers">Layers</h2>', explorer.html);
  body.push('<h2 id="model">Model</h2>');
  body.push(`<pre class="model">${esc(run.model)}</pre>`);
  body.push(`<p>Classes: ${run.classNames.map(esc).join(', ')}.</p>`);
  if (run.details && Object.keys(run.details).length > 0) {
    body.push(`<table>${Object.entries(run.details).map(([k, v]) => `<tr><th class="l">${esc(k)}</th><td class="l">${esc(String(v))}</td></tr>`).join('')}</table>`);
  }

  if (questions) body.push(questions);
  body.push('<h2 id="how-to-read">How to read the pictures</h2>');
  body.push(`<p>${probeIntro(summaries[0]?.probe)} For every layer that gives four pictures:</p>`);
  body.push(`<dl class="explain">${QUANTITIES.map((q) => `<dt>${QUANTITY_TITLES[q]}</dt><dd>${esc(REPORT_EXPLANATIONS[q])}</dd>`).join('')}</dl>`);
  body.push('<p><b>Colours.</b></p><ul>');
  for (const c of COLOUR_EXPLANATION) body.push(`<li>${esc(c)}</li>`);
  body.push('</ul><p class="muted">Each picture\u2019s caption names the layer, the quantity, the epoch and the scale; its colour bar prints the numbers at the ends. The same numbers are in the layer\u2019s stats.json.</p>');

  body.push('<h2 id="curves">Training curves</h2>');
  const plots: string[] = [];
  for (const f of [`${PLOTS_DIR}/loss.png`, `${PLOTS_DIR}/accuracy.png`]) {
    if (await files.exists(f)) plots.push(`<a href="${url(f)}"><img src="${url(f)}" alt="${esc(f)}"></a>`);
  }
  body.push(plots.length ? `<div class="plots">${plots.join('')}</div>` : '<p class="muted">No finished epochs yet.</p>');
  if (explorer) {
    body.push('<h3 id="batch-level">Batch by batch</h3><div id="batch-curves"></div>');
    body.push('<p class="muted">Light blue: the training loss and accuracy of the batches (from live.jsonl, which averages the batches of about half a second per point; here each point averages at least the typical number of batches, because the first point after each epoch\u2019s evaluation holds a single batch and alone drew a noisy spike at every epoch start); dark blue: each epoch\u2019s mean; red: the test set after each epoch. Drag across a chart to zoom into those steps; double-click to see all. Dashed lines: epoch boundaries.</p>');
  }
  body.push(metricsTable(run.metrics));
  body.push(await healthHtml(run.metrics, files));
  const latestConf = [...(run.confusion ?? [])].sort((a, b) => b.epoch - a.epoch)[0];
  if (latestConf && !summaries.some((s) => s.epoch === latestConf.epoch)) {
    body.push(`<h3>Test-set confusion matrix, epoch ${latestConf.epoch}</h3>`);
    body.push(confusionTable(latestConf.matrix, run.classNames));
  }

  if (summaries[0]) {
    // The latest moment's probe images, predictions, confusion matrix and walkthrough; the layers are in the explorer.
    body.push('<h2 id="epochs">Probe images and predictions</h2>');
    body.push((await epochHtml(summaries[0], run, files, false)).replace('<section class="epoch"', '<section class="epoch shown"'));
  }
  body.push('</main><footer><p class="muted">Written by cnnviz. This page needs no server: open it from the file system.</p></footer>');

  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(run.name)} · cnnviz</title>
<style>${CSS}</style>
${explorer?.head ?? ''}
</head>
<body${explorer ? ' class="has-explorer"' : ''}>
${body.join('\n')}
<script>${JS}</script>
<script>${liveScript()}</script>
${explorer?.scripts ?? ''}
</body>
</html>
`;
  await writeFileAtomic(join(outDir, REPORT_FILE), html);
}
