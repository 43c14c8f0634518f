import cliProgress from 'cli-progress';
import type { TrainReporter } from './trainer.js';
import type { EpochRecord } from './metrics.js';

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

export function formatEpochLine(r: EpochRecord, epochs: number): string {
  return (
    `epoch ${r.epoch}/${epochs}: train loss ${r.trainLoss.toFixed(4)} (data ${r.trainDataLoss.toFixed(4)} + decay ${r.trainDecayLoss.toFixed(4)}), ` +
    `train acc ${pct(r.trainAccuracy)}, test acc ${pct(r.testAccuracy)}, ${r.seconds.toFixed(1)} s, ${Math.round(r.imagesPerSecond)} img/s`
  );
}

/**
 * Progress on stderr: a live bar on a terminal, a plain line every ~10% otherwise (logs, CI).
 * With `json`, each epoch's record is one JSON line on stdout; everything else stays on stderr.
 */
export function makeReporter(opts: { epochs: number; json: boolean; quiet: boolean; tty?: boolean }): TrainReporter & { stop(): void } {
  const tty = opts.tty ?? Boolean(process.stderr.isTTY);
  let bar: cliProgress.SingleBar | null = null;
  let barEpoch = -1;
  let lastPlainDecile = -1;
  const stopBar = () => {
    if (bar) bar.stop();
    bar = null;
  };
  return {
    log(message: string) {
      stopBar();
      process.stderr.write(`${message}\n`);
    },
    batch(p) {
      if (opts.quiet) return;
      if (tty) {
        if (!bar || barEpoch !== p.epoch) {
          stopBar();
          bar = new cliProgress.SingleBar(
            { format: `epoch ${p.epoch}/${p.epochs} [{bar}] {percentage}% | batch {value}/{total} | loss {loss} | acc {acc} | {speed} img/s | eta {eta_formatted}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
            cliProgress.Presets.shades_classic,
          );
          bar.start(p.batches, 0, { loss: '-', acc: '-', speed: '-' });
          barEpoch = p.epoch;
        }
        bar.update(p.batch, { loss: p.loss.toFixed(4), acc: pct(p.accuracy), speed: Math.round(p.imagesPerSecond) });
      } else {
        const decile = Math.floor((10 * p.batch) / p.batches);
        if (decile !== lastPlainDecile && decile < 10) {
          lastPlainDecile = decile;
          process.stderr.write(`epoch ${p.epoch}/${p.epochs} batch ${p.batch}/${p.batches}: loss ${p.loss.toFixed(4)}, acc ${pct(p.accuracy)}, ${Math.round(p.imagesPerSecond)} img/s\n`);
        }
      }
    },
    epoch(record) {
      stopBar();
      lastPlainDecile = -1;
      if (opts.json) process.stdout.write(`${JSON.stringify(record)}\n`);
      if (!opts.quiet) process.stderr.write(`${formatEpochLine(record, opts.epochs)}\n`);
    },
    stop: stopBar,
  };
}
