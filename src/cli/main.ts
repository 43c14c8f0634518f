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

/** Exit codes: 0 ok, 1 internal error, 2 user error (bad input), 130 interrupted (SIGINT). */
export async function main(argv: string[]): Promise<number> {
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
