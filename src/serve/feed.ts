/**
 * Server-sent events for one run folder: one poller per run (however many browsers watch it) reads
 * what the trainer writes and pushes the changes to every client.
 *
 * Events (each `data:` is JSON):
 *   hello     {points, metrics, pictures, report}  the whole state, first thing after connecting
 *   points    LivePoint[]    new lines of live.jsonl
 *   reset     LivePoint[]    live.jsonl was rewritten (thinned) or started anew: replace all points
 *   metrics   EpochRecord[]  metrics.jsonl changed (all records)
 *   pictures  string[]       picture folders with an epoch.json (epoch-NNN, step-NNNNNN) changed
 *   report    {version}      index.html was rewritten: fetch it again
 *   gone      {}             the run folder disappeared
 * and a comment line every 15 s so proxies and browsers keep the stream open.
 *
 * Only whole files are read (all of them are written by temp + rename) and only whole lines of
 * live.jsonl (appended one line per write). Polling (not fs.watch) because renames over a file and
 * deleted folders are reported unreliably by fs.watch across platforms; the default 500 ms polls a
 * handful of stat calls. A client whose unsent data passes 1 MB (it stopped reading) is dropped.
 */
import { constants, promises as fsp } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { LIVE_FILE, parseLivePoints, type LivePoint } from './live-log.js';
import { readRegularText } from '../util/regular-file.js';

const MAX_BUFFERED = 1 << 20;
const HEARTBEAT_MS = 15_000;
/** Points sent in a hello at most (the newest); live.jsonl is bounded anyway. */
const HELLO_POINTS = 5000;

interface FileMark {
  ino: number;
  size: number;
  mtimeMs: number;
}

async function mark(path: string): Promise<FileMark | undefined> {
  try {
    const s = await fsp.stat(path);
    // A FIFO, device or socket counts as absent (reading a FIFO would block).
    return s.isFile() || s.isDirectory() ? { ino: s.ino, size: s.size, mtimeMs: s.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

const same = (a: FileMark | undefined, b: FileMark | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs);

/** Picture folders of a run that have their epoch.json (written last), sorted by name. */
export async function listPictureFolders(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  const ok = await Promise.all(
    names.filter((n) => /^(epoch-\d+|step-\d+)$/.test(n)).map(async (n) => ((await mark(join(dir, n, 'epoch.json'))) ? n : '')),
  );
  return ok.filter((n) => n).sort();
}

function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export class RunFeed {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private polling = false;
  private ready: Promise<void> | undefined;
  private points: LivePoint[] = [];
  private live: FileMark | undefined;
  private liveOffset = 0;
  private partial = '';
  private metricsMark: FileMark | undefined;
  private metrics: unknown[] = [];
  private reportMark: FileMark | undefined;
  private pictures: string[] = [];
  private present = true;
  /** False during the first poll after (re)starting: its findings go out in the hello, not as events. */
  private polled = false;

  constructor(
    readonly dir: string,
    private readonly pollMs: number,
    private readonly onIdle: () => void,
  ) {}

  get clientCount(): number {
    return this.clients.size;
  }

  /** Adds a client: sends the current state once the first poll is done, then the changes. */
  async add(res: ServerResponse): Promise<void> {
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write('retry: 2000\n\n');
    this.clients.add(res);
    res.on('close', () => this.remove(res));
    res.on('error', () => this.remove(res));
    if (!this.ready) {
      const ready: Promise<void> = this.poll().then(() => {
        if (this.ready !== ready) return; // every client left meanwhile
        this.polled = true;
        this.timer = setInterval(() => void this.poll(), this.pollMs).unref();
        this.heartbeat = setInterval(() => this.broadcast(': ping\n\n'), HEARTBEAT_MS).unref();
      });
      this.ready = ready;
    }
    await this.ready;
    if (this.clients.has(res)) {
      this.send(res, sseFrame('hello', { points: this.points.slice(-HELLO_POINTS), metrics: this.metrics, pictures: this.pictures, report: this.reportMark ? this.reportMark.mtimeMs : null }));
    }
  }

  private remove(res: ServerResponse): void {
    if (!this.clients.delete(res)) return;
    if (this.clients.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.heartbeat);
    this.timer = undefined;
    this.heartbeat = undefined;
    this.ready = undefined;
    this.polled = false;
    for (const c of this.clients) c.end();
    this.clients.clear();
    this.onIdle();
  }

  private send(res: ServerResponse, frame: string): void {
    if (res.destroyed || res.writableEnded) return this.remove(res);
    if (res.writableLength > MAX_BUFFERED) {
      res.destroy();
      return this.remove(res);
    }
    res.write(frame);
  }

  private broadcast(frame: string): void {
    for (const c of [...this.clients]) this.send(c, frame);
  }

  private emit(event: string, data: unknown): void {
    if (this.polled) this.broadcast(sseFrame(event, data));
  }

  /** One look at the folder; never throws. Overlapping polls are skipped. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      await this.pollOnce();
    } catch {
      // a file vanished between two calls: the next poll sees the new state
    } finally {
      this.polling = false;
    }
  }

  private async pollOnce(): Promise<void> {
    const exists = (await mark(this.dir)) !== undefined;
    if (!exists) {
      if (this.present) {
        this.present = false;
        this.emit('gone', {});
      }
      return;
    }
    if (!this.present) {
      this.present = true;
      this.live = undefined;
      this.metricsMark = undefined;
      this.reportMark = undefined;
    }
    await this.pollLive();
    const mm = await mark(join(this.dir, 'metrics.jsonl'));
    if (!same(mm, this.metricsMark)) {
      this.metricsMark = mm;
      const text = mm ? await readRegularText(join(this.dir, 'metrics.jsonl')) : '';
      this.metrics = text.split('\n').filter((l) => l.trim()).flatMap((l) => {
        try {
          return [JSON.parse(l) as unknown];
        } catch {
          return [];
        }
      });
      this.emit('metrics', this.metrics);
    }
    const pictures = await listPictureFolders(this.dir);
    if (pictures.join() !== this.pictures.join()) {
      this.pictures = pictures;
      this.emit('pictures', pictures);
    }
    const rm = await mark(join(this.dir, 'index.html'));
    if (!same(rm, this.reportMark)) {
      this.reportMark = rm;
      if (rm) this.emit('report', { version: rm.mtimeMs });
    }
  }

  private async pollLive(): Promise<void> {
    const path = join(this.dir, LIVE_FILE);
    const m = await mark(path);
    if (!m) {
      if (this.live) {
        this.live = undefined;
        this.points = [];
        this.emit('reset', []);
      }
      return;
    }
    if (!this.live || m.ino !== this.live.ino || m.size < this.liveOffset) {
      // New or rewritten file: read it whole.
      const text = await readRegularText(path);
      const end = text.lastIndexOf('\n') + 1;
      this.points = parseLivePoints(text.slice(0, end));
      this.liveOffset = Buffer.byteLength(text.slice(0, end));
      this.partial = '';
      this.live = m;
      this.emit('reset', this.points.slice(-HELLO_POINTS));
      return;
    }
    this.live = m;
    if (m.size === this.liveOffset) return;
    const fh = await fsp.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      if (!(await fh.stat()).isFile()) return;
      const length = m.size - this.liveOffset;
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, this.liveOffset);
      this.liveOffset += bytesRead;
      const text = this.partial + buf.subarray(0, bytesRead).toString('utf8');
      const end = text.lastIndexOf('\n') + 1;
      this.partial = text.slice(end);
      const fresh = parseLivePoints(text.slice(0, end));
      if (fresh.length) {
        this.points.push(...fresh);
        if (this.points.length > 2 * HELLO_POINTS) this.points = this.points.slice(-HELLO_POINTS);
        this.emit('points', fresh);
      }
    } finally {
      await fh.close();
    }
  }
}
