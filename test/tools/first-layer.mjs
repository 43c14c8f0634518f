// Time to first layer: opens a report from disk in headless Chromium (puppeteer-core, Debian's
// /usr/bin/chromium or CHROMIUM_PATH) at 1,400 px and prints the milliseconds from the start of
// loading to the explorer having drawn the layer (index.html#layer-N), then the page's height.
// Usage: node test/tools/first-layer.mjs <report index.html> [layer] [width]
import { resolve } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';

const [, , file, layer = '0', width = '1400'] = process.argv;
if (!file) {
  process.stderr.write('usage: node test/tools/first-layer.mjs <index.html> [layer] [width]\n');
  process.exit(2);
}
const browser = await puppeteer.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  await page.setViewport({ width: Number(width), height: 900 });
  const t0 = Date.now();
  await page.goto(`${pathToFileURL(resolve(file)).href}#layer-${layer}`, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(`(function () { var a = document.getElementById('open-layer'); return window.cnnvizExplorer && window.cnnvizExplorer.ready() && a && a.getAttribute('data-layer') === '${layer}'; })()`, { timeout: 60_000, polling: 10 });
  const ms = Date.now() - t0;
  const height = await page.evaluate('document.documentElement.scrollHeight');
  process.stdout.write(`first layer (${layer}) drawn after ${ms} ms; page height ${height} px at ${width} px\n`);
} finally {
  await browser.close();
}
