/**
 * Progress of a transfer: a bar on a terminal, otherwise a line every 10% of a known size (every
 * 20 MB of an unknown one), so logs stay short.
 */
import { SingleBar } from 'cli-progress';

/** Where progress goes: process.stderr by default. */
export interface ProgressOutput {
  write(s: string): unknown;
  isTTY?: boolean;
}

/** 'auto': a bar when the output is a TTY, otherwise lines. */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'off';

export interface Progress {
  update(bytes: number): void;
  stop(): void;
}

export function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

export function makeProgress(mode: ProgressMode, out: ProgressOutput, total: number | null): Progress {
  const useBar = mode === 'bar' || (mode === 'auto' && out.isTTY === true);
  if (mode === 'off') return { update() {}, stop() {} };
  if (useBar && total !== null) {
    const bar = new SingleBar({
      stream: out as NodeJS.WritableStream,
      format: 'downloading [{bar}] {percentage}% | {done} / {size} MB | {speed} MB/s | eta {eta_formatted}',
      hideCursor: true,
      barsize: 30,
    });
    const t0 = Date.now();
    bar.start(total, 0, { done: '0.0', size: mb(total), speed: '0.0' });
    return {
      update(bytes) {
        const secs = Math.max((Date.now() - t0) / 1000, 1e-3);
        bar.update(Math.min(bytes, total), { done: mb(bytes), speed: mb(bytes / secs) });
      },
      stop() {
        bar.stop();
      },
    };
  }
  // Plain lines: every 10% of a known size, else every 20 MB.
  const step = total !== null ? total / 10 : 20e6;
  let next = step;
  return {
    update(bytes) {
      if (bytes < next) return;
      while (next <= bytes) next += step;
      const pct = total !== null ? ` (${Math.floor((100 * bytes) / total)}%)` : '';
      out.write(`downloading: ${mb(bytes)}${total !== null ? ` / ${mb(total)}` : ''} MB${pct}\n`);
    },
    stop() {},
  };
}
