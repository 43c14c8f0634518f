/**
 * The report's explorer in a real browser (Debian's chromium through puppeteer-core), opened from
 * disk (file://, no server): every layer opens from the layer map, the epoch slider moves the
 * pictures (step 0 is "before training"), the value under the pointer is the stored float32 value at
 * that position, a click outlines the receptive field that patches.ts computes, no console errors,
 * and at a 1,024 px window nothing is wider than the window. Skipped, saying so, without chromium.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir, writeCifarDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { patchWindow, receptiveFields, type PatchLayerInfo } from '../../src/viz/patches.js';
import type { ExplorerDataHeader, ExplorerMomentSummary } from '../../src/viz/explorer/data.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && !process.env.CI) process.stderr.write(`explorer browser test skipped: no chromium at ${CHROMIUM}\n`);

/**
 * Reads a data file the way the format document says: a JSON header, then base64 little-endian float32,
 * or float16 times each block's scale (`dtype` "float16", the default --explorer-data half).
 */
function readDataFile(path: string): { header: ExplorerDataHeader; values: Float32Array } {
  const m = /^cnnvizExplorerData\((\{.*\}),"([A-Za-z0-9+/=]*)"\);\n$/s.exec(readFileSync(path, 'utf8'));
  if (!m) throw new Error(`not a data file: ${path}`);
  const header = JSON.parse(m[1]) as ExplorerDataHeader;
  const bytes = Buffer.from(m[2], 'base64');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (header.dtype !== 'float16') {
    const values = new Float32Array(bytes.byteLength / 4);
    for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
    return { header, values };
  }
  const values = new Float32Array(bytes.byteLength / 2);
  for (const b of header.blocks) {
    const n = b.shape.reduce((x, y) => x * y, 1);
    for (let i = b.offset; i < b.offset + n; i++) {
      const h = view.getUint16(i * 2, true);
      const e = (h >> 10) & 31;
      const f = h & 1023;
      const v = e === 0 ? f * 2 ** -24 : e === 31 ? (f ? NaN : Infinity) : (1 + f / 1024) * 2 ** (e - 15);
      values[i] = (h & 0x8000 ? -v : v) * b.scale!;
    }
  }
  return { header, values };
}

describe.skipIf(!available && !process.env.CI)('the explorer in a real browser, from disk', () => {
  it('opens every layer, slides through the moments, reads stored values and outlines receptive fields', async () => {
    const data = writeCifarDir(join(tempDir('cnnviz-explorer-'), 'cifar'), [40, 40, 40, 40, 40], 20);
    const out = join(tempDir('cnnviz-explorer-'), 'run');
    const shots = join(tempDir('cnnviz-explorer-'), 'shots');
    mkdirSync(shots, { recursive: true });
    const r = await runCli(['train', '--data', data, '--out', out, '--epochs', '2', '--batch-size', '10', '--workers', '1', '--probe-count', '3', '--viz-steps', '0'], { timeoutMs: 240_000 });
    expect(r.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'epoch-002', 'explorer', 'summary.json'), 'utf8')) as ExplorerMomentSummary;
    const layers = summary.layers;

    const puppeteer = (await import('puppeteer-core')).default;
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.setViewport({ width: 1400, height: 900 });
      const url = pathToFileURL(join(out, 'index.html')).href;
      await page.goto(url, { waitUntil: 'load' });
      // Page-side expressions are strings: this project's TypeScript has no DOM types.
      const ready = (layer: number, moment?: number): Promise<unknown> =>
        page.waitForFunction(
          `(function () { var a = document.getElementById('open-layer'); return window.cnnvizExplorer && window.cnnvizExplorer.ready() && a && a.getAttribute('data-layer') === '${layer}'${moment === undefined ? '' : ` && a.getAttribute('data-moment') === '${moment}'`}; })()`,
          { timeout: 20_000, polling: 50 },
        );
      await ready(0);

      // Navigation: every layer of the map opens its view, one at a time.
      const links = (await page.evaluate("document.querySelectorAll('#layer-map a[data-layer]').length")) as number;
      expect(links).toBe(layers.length);
      for (let i = 0; i < links; i++) {
        await page.click(`#layer-map a[data-layer="${i}"]`);
        await ready(i);
        expect(await page.evaluate("document.querySelectorAll('article.xlayer').length")).toBe(1);
        expect(await page.evaluate(`document.querySelector('#layer-map a[data-layer="${i}"]').classList.contains('open')`)).toBe(true);
      }

      // The first conv: hover a value of each quantity and compare with the stored float32 file.
      const conv = layers.findIndex((l) => l.window && l.inputs[0] === 0);
      expect(conv).toBeGreaterThan(0);
      await page.click(`#layer-map a[data-layer="${conv}"]`);
      await ready(conv, 2);
      const file = readDataFile(join(out, 'epoch-002', 'explorer', `${String(conv).padStart(3, '0')}.js`));
      expect(file.header.dtype).toBe('float16');
      const stored = (q: string, idx: number[]): number => {
        const b = file.header.blocks.find((x) => x.quantity === q)!;
        const [, B, C, D] = b.shape;
        return file.values[b.offset + ((idx[0] * B + idx[1]) * C + idx[2]) * D + idx[3]];
      };
      for (const [q, pos] of [['activations', [2, 5, 7, 11]], ['activation-gradients', [1, 3, 30, 2]], ['weights', [4, 2, 1, 3]], ['weight-gradients', [15, 0, 4, 0]]] as [string, number[]][]) {
        // Scroll the picture's box (it scrolls inside itself) and the page so that the value is in view.
        await page.evaluate(`(function () {
          var c = document.querySelector('canvas.qcanvas[data-quantity="${q}"]'), box = c.parentNode, p = window.cnnvizExplorer.locate('${q}', ${pos.join(',')}), r = c.getBoundingClientRect();
          box.scrollTop = Math.max(0, p.y - r.top - 100); box.scrollLeft = Math.max(0, p.x - r.left - 100);
          box.scrollIntoView({ block: 'center' });
        })()`);
        const at = (await page.evaluate(`window.cnnvizExplorer.locate('${q}', ${pos.join(',')})`)) as { x: number; y: number };
        expect(at).not.toBeNull();
        await page.mouse.move(at.x, at.y);
        const ro = (await page.evaluate(`(function () { var p = document.querySelector('p.readout[data-quantity="${q}"]'); return [p.getAttribute('data-pos'), p.getAttribute('data-value'), p.textContent]; })()`)) as [string, string, string];
        expect(ro[0]).toBe(pos.join(','));
        expect(Number(ro[1])).toBe(stored(q, pos));
        expect(ro[2]).toMatch(/scale/);
        // The default data is float16, and the readout says so.
        expect(ro[2]).toContain('stored as float16');
      }

      // By default the gradients use each moment's own scale, the rest one scale common to the moments.
      const caption = (q: string) => page.evaluate(`document.querySelector('canvas.qcanvas[data-quantity="${q}"]').closest('figure').querySelector('figcaption').textContent`) as Promise<string>;
      expect(await caption('weights')).toContain('common to the 3 moments');
      expect(await caption('weight-gradients')).toContain('this moment');
      expect(await caption('activation-gradients')).toContain('this moment');
      // The slider: step 0 is "before training", and the pictures follow it.
      const moments = (await page.evaluate('window.cnnvizExplorer.index.moments.map(function (m) { return m.label; })')) as string[];
      expect(moments).toEqual(['before training', 'epoch 1', 'epoch 2']);
      const before = (await page.evaluate("document.querySelector('canvas.qcanvas[data-quantity=\"weights\"]').toDataURL()")) as string;
      await page.evaluate("(function () { var s = document.getElementById('moment-slider'); s.value = '0'; s.dispatchEvent(new Event('input')); })()");
      await ready(conv, 0);
      expect(await page.evaluate("document.getElementById('moment-label').textContent")).toBe('before training');
      expect(await page.evaluate("document.querySelector('canvas.qcanvas[data-quantity=\"weights\"]').toDataURL()")).not.toBe(before);
      const step0 = readDataFile(join(out, 'step-000000', 'explorer', `${String(conv).padStart(3, '0')}.js`));
      const wb = step0.header.blocks.find((x) => x.quantity === 'weights')!;
      const at0 = (await page.evaluate("window.cnnvizExplorer.locate('weights', 0, 0, 0, 0)")) as { x: number; y: number };
      await page.mouse.move(at0.x, at0.y);
      expect(Number(await page.evaluate("document.querySelector('p.readout[data-quantity=\"weights\"]').getAttribute('data-value')"))).toBe(step0.values[wb.offset]);

      // Receptive field: a click on the second conv's map outlines what patches.ts computes.
      const conv2 = layers.findIndex((l, i) => i > conv && l.window && l.window.kernelH > 1 && layers.slice(conv + 1, i).some((x) => x.window));
      expect(conv2).toBeGreaterThan(conv);
      await page.click(`#layer-map a[data-layer="${conv2}"]`);
      await ready(conv2);
      const [y, x] = [10, 3];
      await page.evaluate("document.querySelector('canvas.qcanvas[data-quantity=\"activations\"]').scrollIntoView({ block: 'center' })");
      const cp = (await page.evaluate(`window.cnnvizExplorer.locate('activations', 1, 2, ${y}, ${x})`)) as { x: number; y: number };
      await page.mouse.click(cp.x, cp.y);
      await page.waitForFunction("document.querySelector('.rfbox[data-layer=\"0\"]')", { timeout: 20_000 });
      const rect = ((await page.evaluate("document.querySelector('.rfbox[data-layer=\"0\"]').getAttribute('data-rect')")) as string).split(',').map(Number);
      const infos: PatchLayerInfo[] = layers.map((l, i) => ({
        inputs: l.inputs,
        outShape: l.outShape,
        ...(l.window ? { window: l.window, positions: 'window' as const } : i > 0 && layers[l.inputs[0]].outShape[1] === l.outShape[1] ? { positions: 'same' as const } : {}),
      }));
      const rf = receptiveFields(infos)[conv2]!;
      const w = patchWindow(rf, { y, x });
      const [, H, W] = layers[0].outShape;
      expect(rect).toEqual([Math.max(0, w.y0), Math.min(H - 1, w.y0 + rf.sizeH - 1), Math.max(0, w.x0), Math.min(W - 1, w.x0 + rf.sizeW - 1)]);
      expect(await page.evaluate("document.querySelector('#drill h4').textContent")).toBe('Channel 2 side by side');
      await page.screenshot({ path: join(shots, 'explorer-1400.png') as `${string}.png`, fullPage: true });
      const height = (await page.evaluate('document.documentElement.scrollHeight')) as number;
      expect(height).toBeLessThan(25_000);

      // 1,024 px: nothing wider than the window.
      await page.setViewport({ width: 1024, height: 800 });
      await page.reload({ waitUntil: 'load' });
      await ready(conv2);
      const fit = (await page.evaluate('[document.documentElement.scrollWidth, document.documentElement.clientWidth]')) as [number, number];
      expect(fit[0]).toBeLessThanOrEqual(fit[1]);
      await page.screenshot({ path: join(shots, 'explorer-1024.png') as `${string}.png`, fullPage: true });
      process.stderr.write(`explorer test screenshots: ${shots}\n`);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 300_000);
});
