import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { errorMessage, isUserError } from '../util/errors.js';
import { registerCommands } from './commands/index.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * The whole command tree, without parsing anything: main() runs it, and test/cli/readme-options.test.ts
 * reads its options to check README.md's option tables against --help.
 */
export function createProgram(): Command {
  const program = new Command();
  program
    .name('cnnviz')
    .description('Train a CNN on CIFAR-10 on the CPU and see every layer learn, as PNG grids each epoch.')
    .version(packageVersion())
    .option('--debug', 'print stack traces for errors')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerCommands(program);
  return program;
}

/**
 * stdout closed by its reader (`cnnviz train --json | head -1`): Node reports EPIPE as an unhandled
 * 'error' event, a stack trace that ends the run mid-epoch. Say so once on stderr and carry on without
 * stdout: a training run finishes and writes its checkpoints and report (Ctrl-C still stops it).
 */
export function keepGoingWithoutStdout(stdout: NodeJS.WriteStream = process.stdout, log: (m: string) => void = (m) => process.stderr.write(m)): void {
  if (stdout.listenerCount('error') > 0) return;
  let told = false;
  stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (told) return;
    told = true;
    log(`cnnviz: standard output was closed (${e.code ?? e.message}); nothing more is printed there, the command goes on\n`);
  });
}

/** Exit codes: 0 ok, 1 internal error, 2 user error (bad input), 130 interrupted (SIGINT). */
export async function main(argv: string[]): Promise<number> {
  keepGoingWithoutStdout();
  const program = createProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; usage errors (already printed by commander) exit 2.
      return e.exitCode === 0 ? 0 : 2;
    }
    const debug = argv.includes('--debug');
    if (isUserError(e)) {
      process.stderr.write(`cnnviz: ${e.message}\n`);
      if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
      return e.exitCode;
    }
    process.stderr.write(`cnnviz: internal error: ${errorMessage(e)}\n`);
    if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    else process.stderr.write('(run again with --debug for a stack trace)\n');
    return 1;
  }
}
