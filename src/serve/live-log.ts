/**
 * <out>/live.jsonl: batch-level progress for the live report (`cnnviz serve`, `train --serve`).
 *
 * One JSON object per line (LivePoint). A point summarises the batches since the previous point
 * (at most one point per `intervalMs`, plus one at the end of every epoch), so the file grows with
 * time, not with the batch count. Each flush is one append(2) of whole lines: a reader that only
 * takes text up to the last newline never sees half a point. The size is bounded: past `maxLines`
 * the file is rewritten (temp file + rename) with neighbouring older points merged in pairs, the
 * newest `keepRecent` points untouched; a reader notices the new inode (or a smaller size) and
 * reads it again from the start.
 *
 * Appends never follow a symbolic link (O_NOFOLLOW): a live.jsonl replaced by a link to another file
 * is refused when a resumed run starts (exit 2), and ends the live log if it appears later.
 */
import { closeSync, constants, lstatSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { noteWrite, writeFileAtomicSync } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';

export const LIVE_FILE = 'live.jsonl';

export interface LivePoint {
  /** Wall clock, ms since 1970. */
  t: number;
  /** Global step: optimizer updates since the start of training (epoch-1)*batches + batch. */
  step: number;
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  /** Mean training loss (data + decay) and accuracy over the batches this point summarises. */
  loss: number;
  accuracy: number;
  /** Running mean loss and accuracy of the epoch so far (what the progress bar shows). */
  epochLoss: number;
  epochAccuracy: number;
  imagesPerSecond: number;
  /** Batches summarised by this point. */
  n: number;
}

export interface LiveLogOptions {
  /** Minimum time between points (default 500 ms). */
  intervalMs?: number;
  /** Rewrite (thin) the file when it has more lines than this (default 4000, about 0.8 MB). */
  maxLines?: number;
  /** Points at the end never merged when thinning (default 200). */
  keepRecent?: number;
  /** Continue an existing file (resume) instead of starting a new one. */
  append?: boolean;
  now?: () => number;
}

/** Merge two neighbouring points into one (weighted by their batch counts). */
function mergePoints(a: LivePoint, b: LivePoint): LivePoint {
  const n = a.n + b.n;
  return { ...b, loss: (a.loss * a.n + b.loss * b.n) / n, accuracy: (a.accuracy * a.n + b.accuracy * b.n) / n, n };
}

/** Older points merged in pairs, the last `keepRecent` kept as they are. */
export function thinPoints(points: LivePoint[], keepRecent: number): LivePoint[] {
  const cut = Math.max(0, points.length - keepRecent);
  const old: LivePoint[] = [];
  for (let i = 0; i < cut; i += 2) old.push(i + 1 < cut ? mergePoints(points[i], points[i + 1]) : points[i]);
  return [...old, ...points.slice(cut)];
}

/** Parse the complete lines of a live.jsonl text; a partial last line and malformed lines are skipped. */
export function parseLivePoints(text: string): LivePoint[] {
  const end = text.lastIndexOf('\n');
  if (end < 0) return [];
  const out: LivePoint[] = [];
  for (const line of text.slice(0, end).split('\n')) {
    if (!line) continue;
    try {
      const p = JSON.parse(line) as LivePoint;
      if (typeof p.step === 'number' && typeof p.loss === 'number') out.push(p);
    } catch {
      // a damaged line: skip it
    }
  }
  return out;
}

/** What the trainer reports after each batch (TrainReporter.batch in src/train/trainer.ts). */
export interface BatchProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  stepLoss?: number;
  stepAccuracy?: number;
  images?: number;
}

/** Appends LivePoints to <out>/live.jsonl from the trainer's batch reports. */
export class LiveLog {
  private readonly path: string;
  private readonly intervalMs: number;
  private readonly maxLines: number;
  private readonly keepRecent: number;
  private readonly now: () => number;
  private lines = 0;
  private lastFlush = -Infinity;
  private acc = { n: 0, loss: 0, correct: 0, images: 0 };
  private failed = false;

  constructor(outDir: string, opts: LiveLogOptions = {}) {
    this.path = join(outDir, LIVE_FILE);
    this.intervalMs = opts.intervalMs ?? 500;
    this.maxLines = opts.maxLines ?? 4000;
    this.keepRecent = Math.min(opts.keepRecent ?? 200, Math.floor(this.maxLines / 2));
    this.now = opts.now ?? Date.now;
    if (opts.append) {
      let kind: string | undefined;
      try {
        const st = lstatSync(this.path);
        if (!st.isFile()) kind = st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file';
      } catch {
        // no live.jsonl yet: it is created
      }
      if (kind) throw new UserError(`${this.path}: is ${kind}; cnnviz never writes through one in a run folder (delete it to continue the run)`);
      try {
        this.lines = parseLivePoints(readFileSync(this.path, 'utf8')).length;
      } catch {
        this.lines = 0;
      }
    } else {
      rmSync(this.path, { force: true });
    }
  }

  /** Record one batch; writes a point when the interval has passed or the epoch ends. */
  batch(p: BatchProgress): void {
    const images = p.images ?? 1;
    this.acc.n += 1;
    this.acc.loss += (p.stepLoss ?? p.loss) * images;
    this.acc.correct += (p.stepAccuracy ?? p.accuracy) * images;
    this.acc.images += images;
    const t = this.now();
    if (t - this.lastFlush < this.intervalMs && p.batch < p.batches) return;
    const point: LivePoint = {
      t, step: (p.epoch - 1) * p.batches + p.batch, epoch: p.epoch, epochs: p.epochs, batch: p.batch, batches: p.batches,
      loss: this.acc.loss / this.acc.images, accuracy: this.acc.correct / this.acc.images,
      epochLoss: p.loss, epochAccuracy: p.accuracy, imagesPerSecond: p.imagesPerSecond, n: this.acc.n,
    };
    this.acc = { n: 0, loss: 0, correct: 0, images: 0 };
    this.lastFlush = t;
    this.write(point);
  }

  private write(point: LivePoint): void {
    if (this.failed) return;
    try {
      // One append of one whole line: readers see all of it or none of it (they stop at the last newline).
      noteWrite(this.path);
      const fd = openSync(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
      try {
        writeSync(fd, `${JSON.stringify(point)}\n`);
      } finally {
        closeSync(fd);
      }
      this.lines += 1;
      if (this.lines > this.maxLines) this.thin();
    } catch {
      // The live view is an extra: a full disk or a deleted folder must not stop training.
      this.failed = true;
    }
  }

  private thin(): void {
    const points = thinPoints(parseLivePoints(readFileSync(this.path, 'utf8')), this.keepRecent);
    writeFileAtomicSync(this.path, points.map((x) => JSON.stringify(x)).join('\n') + '\n');
    this.lines = points.length;
  }
}
