/**
 * One real-browser test: Debian's chromium (driven by puppeteer-core, which never downloads a browser)
 * opens the report served by `cnnviz train --serve` while a tiny training runs, and checks that the
 * live chart gains points and the next epoch's pictures appear without a reload; then a screenshot
 * of the chart is checked for the chart's colours.
 * CI (.ci/run) installs chromium; elsewhere the test is skipped, saying so, when it is missing.
 * CHROMIUM_PATH overrides the browser's path.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { startServer } from '../../src/serve/server.js';
import { tempDir, writeCifarDir } from '../data/fixtures.js';
import { runCli } from '../helpers/cli.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && !process.env.CI) {
  process.stderr.write(`browser test skipped: no chromium at ${CHROMIUM} (install it: apt-get install -y chromium; CI installs it)\n`);
}

/** Share of pixels within `tol` of an RGB colour. */
function colourShare(png: Uint8Array, rgb: [number, number, number], tol = 40): number {
  const img = decode(png);
  const ch = img.channels;
  let n = 0;
  for (let i = 0; i < img.width * img.height; i++) {
    const d = Math.abs(img.data[i * ch] - rgb[0]) + Math.abs(img.data[i * ch + 1] - rgb[1]) + Math.abs(img.data[i * ch + 2] - rgb[2]);
    if (d <= tol) n++;
  }
  return n / (img.width * img.height);
}

describe.skipIf(!available && !process.env.CI)('the served report in a real browser', () => {
  it('gains chart points and shows the next epoch without a reload while training', async () => {
    const puppeteer = (await import('puppeteer-core')).default;
    // 800 images in batches of 4 on one worker: a few seconds per epoch, so the page sees epochs arrive.
    const data = writeCifarDir(join(tempDir('cnnviz-browser-'), 'cifar'), [160, 160, 160, 160, 160], 20);
    const out = join(tempDir('cnnviz-browser-'), 'run');
    const shots = join(tempDir('cnnviz-browser-'), 'shots');
    mkdirSync(shots, { recursive: true });
    // The browser starts first (it takes seconds), so the page opens as soon as the server is up.
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    let pid = 0;
    let started = false;
    let failure: unknown;
    const result: Record<string, unknown> = {};
    const epochShown = (n: number) => `section#epoch-${n}.shown`;
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1400, height: 1000 });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      // The served report works under the server's Content-Security-Policy: nothing it needs is blocked.
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) errors.push(m.text());
      });
      const r = await runCli(['train', '--data', data, '--out', out, '--epochs', '4', '--batch-size', '4', '--workers', '1', '--probe-count', '2', '--serve', '0'], {
        timeoutMs: 240_000,
        onSpawn: (p) => (pid = p),
        onStderr: (chunk) => {
          const m = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(chunk);
          if (!m || started) return;
          started = true;
          void (async () => {
            try {
              await page.goto(m[1], { waitUntil: 'domcontentloaded' });
              // Page-side expressions are strings: this project's TypeScript has no DOM types.
              const live = () => page.evaluate('({ loadId: window.cnnvizLive.loadId, swaps: window.cnnvizLive.swaps })') as Promise<{ loadId: string; swaps: number }>;
              const POINTS = "Number(document.querySelector('#live-loss').getAttribute('data-points'))";
              const loadId = (await live()).loadId;
              const points = () => page.evaluate(POINTS) as Promise<number>;
              await page.waitForFunction(`${POINTS} > 0`, { timeout: 60_000 });
              const first = await points();
              await page.waitForFunction(`${POINTS} > ${first}`, { timeout: 60_000 });
              result.gained = (await points()) > first;
              // Whatever epoch is on the page now, the next one's pictures must appear (shown and loaded).
              const now = (await page.evaluate("document.querySelectorAll('section.epoch').length")) as number;
              result.epochAtStart = now;
              // The pictures load lazily: scroll the first one into view, as a reader would.
              await page.waitForFunction(
                `(function () { var i = document.querySelector('${epochShown(now + 1)} article.layer img'); if (!i) return false; i.scrollIntoView(); return i.complete && i.naturalWidth > 0; })()`,
                { timeout: 120_000, polling: 250 },
              );
              const after = await live();
              result.sameLoad = after.loadId === loadId;
              result.swaps = after.swaps;
              result.progress = await page.evaluate("document.querySelector('#live-progress').textContent");
              const chart = await page.$('#live-loss');
              await chart!.scrollIntoView();
              const png = await chart!.screenshot({ type: 'png' });
              writeFileSync(join(shots, 'live-loss.png'), png);
              await page.screenshot({ path: join(shots, 'page.png') as `${string}.png` });
              result.batchLine = colourShare(png, [0x9e, 0xca, 0xe1]);
              result.epochDots = colourShare(png, [0x21, 0x66, 0xac]);
              result.white = colourShare(png, [255, 255, 255], 6);
              process.stderr.write(`browser test screenshots: ${shots}\n`);
            } catch (e) {
              failure = e;
            } finally {
              process.kill(pid, 'SIGINT');
            }
          })();
        },
      });
      expect(failure).toBeUndefined();
      expect(errors).toEqual([]);
      expect(started).toBe(true);
      expect(result.epochAtStart as number).toBeLessThan(4);
      expect(result.gained).toBe(true);
      expect(result.sameLoad).toBe(true);
      expect(result.swaps as number).toBeGreaterThanOrEqual(1);
      expect(result.progress).toMatch(/epoch \d\/4 · batch \d+\/200 · [\d,]+ img\/s/);
      // The chart is drawn: its batch line's colour covers part of it, and it is mostly background.
      expect(result.batchLine as number).toBeGreaterThan(0.001);
      expect(result.epochDots as number).toBeGreaterThan(0.0002);
      expect(result.white as number).toBeGreaterThan(0.5);
      // Ctrl-C while training (130, with a checkpoint) or after it (0).
      expect([0, 130]).toContain(r.code);
    } finally {
      await browser.close();
    }
  }, 300_000);

  it("the runs page shows a hostile metrics.jsonl's epoch as text, never as markup", async () => {
    const puppeteer = (await import('puppeteer-core')).default;
    const root = join(tempDir('cnnviz-browser-'), 'runs');
    mkdirSync(join(root, 'evil'), { recursive: true });
    const payload = '1"><img src=x onerror="window.cnnvizXss=1">';
    writeFileSync(join(root, 'evil', 'run.json'), JSON.stringify({ config: { model: '<b>m</b>' } }));
    writeFileSync(join(root, 'evil', 'metrics.jsonl'), `${JSON.stringify({ epoch: payload, testAccuracy: 0.5 })}\n`);
    const server = await startServer({ root, port: 0, pollMs: 50 });
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(String(e)));
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) problems.push(m.text());
      });
      await page.goto(server.url, { waitUntil: 'domcontentloaded' });
      await page.waitForSelector('#runs input[data-run]', { timeout: 20_000 });
      await page.click('#runs input[data-run]');
      await page.waitForFunction("document.querySelectorAll('#cmp-epoch option').length > 0", { timeout: 20_000 });
      const seen = (await page.evaluate(
        "({ xss: window.cnnvizXss === 1, imgs: document.querySelectorAll('#cmp-epoch img, #runs img').length, text: document.querySelector('#cmp-epoch option').textContent, model: document.querySelector('#runs td:nth-child(3)').textContent })",
      )) as { xss: boolean; imgs: number; text: string; model: string };
      expect(seen.xss).toBe(false);
      expect(seen.imgs).toBe(0);
      expect(seen.text).toBe(`epoch ${payload}`);
      expect(seen.model).toBe('<b>m</b>');
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
      await server.close();
    }
  }, 120_000);
});
