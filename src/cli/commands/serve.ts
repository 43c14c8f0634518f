import type { Command } from 'commander';
import { statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { hostWarning, startServer, type RunningServer } from '../../serve/server.js';
import { drawComparison } from '../../train/compare.js';
import { errorMessage, UserError } from '../../util/errors.js';
import { pathText, portNumber } from '../options.js';

interface ServeCliOptions {
  port?: number;
  host: string;
}

/**
 * Starts the server and prints its URL (and the warning for a non-loopback host) on stderr. `shown`: the
 * folder as the user named it (`serving out/ at ...`, as the README shows), default the resolved root.
 */
export async function startAndAnnounce(opts: { root: string; shown?: string; host: string; port?: number; singleRun?: boolean; log: (m: string) => void }): Promise<RunningServer> {
  // "" would listen on every interface and print http://:PORT/.
  if (opts.host.trim() === '') throw new UserError('--host: empty; give an address such as 127.0.0.1 (0.0.0.0 for every interface makes the runs visible to the network)');
  const warning = hostWarning(opts.host, opts.root);
  if (warning) opts.log(warning);
  const server = await startServer({ root: opts.root, host: opts.host, port: opts.port, singleRun: opts.singleRun, compare: drawComparison });
  opts.log(`serving ${opts.shown ?? opts.root} at ${server.url} (Ctrl-C to stop)`);
  return server;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve a run (or a folder of runs) over HTTP with live updates while it trains, and compare runs')
    .argument('<folder>', 'a run folder (out/<run>) or a folder of runs (out/)', pathText)
    .option('--port <n>', 'port (default: 8080, or the next free one)', portNumber)
    .option('--host <host>', 'address to listen on; anything but loopback makes the runs visible to the network', '127.0.0.1')
    .action(async (folder: string, opts: ServeCliOptions) => {
      const root = resolve(folder);
      let st: Stats | undefined;
      try {
        st = statSync(root);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new UserError(`${folder}: cannot read (${code ?? errorMessage(e)})`);
      }
      if (!st) throw new UserError(`${folder}: no such folder`);
      if (!st.isDirectory()) {
        // Often a run's index.html or run.json: name the folder that holds it.
        throw new UserError(`${folder}: not a folder; serve takes a run folder (out/<run>) or a folder of runs (out/)${st.isFile() ? `, e.g. cnnviz serve ${dirname(folder)}` : ''}`);
      }
      const server = await startAndAnnounce({ root, shown: folder, host: opts.host, port: opts.port, log: (m) => process.stderr.write(`${m}\n`) });
      await new Promise<void>((done) => {
        const stop = () => {
          process.removeListener('SIGINT', stop);
          process.removeListener('SIGTERM', stop);
          process.stderr.write('stopping the server\n');
          void server.close().then(done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
