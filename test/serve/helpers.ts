/** Raw HTTP requests (paths sent exactly as written, no client-side normalisation) and an SSE reader. */
import { request, type IncomingHttpHeaders } from 'node:http';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export function rawGet(port: number, path: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

export interface SseEvent {
  event: string;
  data: unknown;
}

/** An open event stream: collects events; waitFor() resolves on the first matching one (bounded). */
export class SseClient {
  readonly events: SseEvent[] = [];
  status = 0;
  private buffer = '';
  private waiters: { match: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
  private req: ReturnType<typeof request> | undefined;
  readonly opened: Promise<number>;

  constructor(port: number, path: string) {
    this.opened = new Promise((resolve, reject) => {
      this.req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        this.status = res.statusCode ?? 0;
        resolve(this.status);
        res.setEncoding('utf8');
        res.on('data', (d: string) => this.feed(d));
        res.on('error', () => undefined);
      });
      this.req.on('error', (e) => reject(e));
      this.req.end();
    });
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let i: number;
    while ((i = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 2);
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (!data) continue;
      const e = { event, data: JSON.parse(data) as unknown };
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(e)) return true;
        w.resolve(e);
        return false;
      });
    }
  }

  waitFor(event: string, pred: (data: unknown) => boolean = () => true, timeoutMs = 10_000): Promise<SseEvent> {
    const match = (e: SseEvent) => e.event === event && pred(e.data);
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${event}" event within ${timeoutMs} ms; got ${this.events.map((x) => x.event).join(', ')}`)), timeoutMs);
      this.waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }

  close(): void {
    this.req?.destroy();
  }
}
