import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIVE_FILE, LiveLog, parseLivePoints, thinPoints, type BatchProgress, type LivePoint } from '../../src/serve/live-log.js';
import { tempDir } from '../data/fixtures.js';

function batch(epoch: number, b: number, batches: number, loss: number): BatchProgress {
  return { epoch, epochs: 3, batch: b, batches, loss: 9, accuracy: 0.5, imagesPerSecond: 100, stepLoss: loss, stepAccuracy: b % 2, images: 4 };
}

describe('live.jsonl', () => {
  it('writes one point per interval, averaging its batches, and one at the end of every epoch', () => {
    const dir = tempDir('cnnviz-live-');
    let t = 0;
    const log = new LiveLog(dir, { intervalMs: 1000, now: () => t });
    for (let b = 1; b <= 10; b++) {
      t = b * 300; // a batch every 0.3 s
      log.batch(batch(1, b, 10, b));
    }
    const pts = parseLivePoints(readFileSync(join(dir, LIVE_FILE), 'utf8'));
    // t = 300 (first), 1500 (batch 5: 1200 ms later), 2700 (batch 9), and batch 10 (end of epoch).
    expect(pts.map((p) => p.step)).toEqual([1, 5, 9, 10]);
    expect(pts.map((p) => p.n)).toEqual([1, 4, 4, 1]);
    expect(pts[1].loss).toBeCloseTo((2 + 3 + 4 + 5) / 4, 12);
    expect(pts[1].accuracy).toBeCloseTo(0.5, 12);
    expect(pts[3]).toMatchObject({ epoch: 1, batch: 10, batches: 10, epochLoss: 9, imagesPerSecond: 100 });
    // Steps continue across epochs.
    t += 5000;
    log.batch(batch(2, 1, 10, 1));
    expect(parseLivePoints(readFileSync(join(dir, LIVE_FILE), 'utf8')).at(-1)!.step).toBe(11);
  });

  it('stays bounded: past maxLines the older points are merged in pairs (atomically, a new file)', () => {
    const dir = tempDir('cnnviz-live-');
    let t = 0;
    const log = new LiveLog(dir, { intervalMs: 1, maxLines: 100, keepRecent: 20, now: () => t });
    let inode = -1;
    let rewrites = 0;
    for (let b = 1; b <= 1000; b++) {
      t += 10;
      log.batch(batch(1, b, 1000, 1));
      const ino = statSync(join(dir, LIVE_FILE)).ino;
      if (inode >= 0 && ino !== inode) rewrites += 1;
      inode = ino;
      expect(readFileSync(join(dir, LIVE_FILE), 'utf8').trim().split('\n').length).toBeLessThanOrEqual(100);
    }
    expect(rewrites).toBeGreaterThan(5);
    const pts = parseLivePoints(readFileSync(join(dir, LIVE_FILE), 'utf8'));
    expect(pts.at(-1)!.step).toBe(1000);
    // Every batch is still counted once, and the steps still increase.
    expect(pts.reduce((a, p) => a + p.n, 0)).toBe(1000);
    for (let i = 1; i < pts.length; i++) expect(pts[i].step).toBeGreaterThan(pts[i - 1].step);
  });

  it('starts anew unless resuming, and a reader skips a half-written last line', () => {
    const dir = tempDir('cnnviz-live-');
    const file = join(dir, LIVE_FILE);
    let t = 0;
    new LiveLog(dir, { intervalMs: 1, now: () => (t += 10) }).batch(batch(1, 1, 5, 1));
    new LiveLog(dir, { intervalMs: 1, now: () => (t += 10), append: true }).batch(batch(1, 2, 5, 1));
    expect(parseLivePoints(readFileSync(file, 'utf8')).map((p) => p.step)).toEqual([1, 2]);
    appendFileSync(file, '{"t":1,"step":3,"lo');
    expect(parseLivePoints(readFileSync(file, 'utf8')).map((p) => p.step)).toEqual([1, 2]);
    new LiveLog(dir, { intervalMs: 1 });
    expect(() => readFileSync(file)).toThrow();
  });

  it('thinPoints keeps the newest points and the batch count', () => {
    const pts: LivePoint[] = Array.from({ length: 9 }, (_, i) => ({ t: i, step: i + 1, epoch: 1, epochs: 1, batch: i + 1, batches: 9, loss: i, accuracy: 0, epochLoss: 0, epochAccuracy: 0, imagesPerSecond: 0, n: 1 }));
    const thin = thinPoints(pts, 3);
    expect(thin.map((p) => p.step)).toEqual([2, 4, 6, 7, 8, 9]);
    expect(thin[0].loss).toBeCloseTo(0.5, 12);
    expect(thin.reduce((a, p) => a + p.n, 0)).toBe(9);
  });
});
