/**
 * README.md's option tables must name the same options, with the same defaults, as --help, for every
 * command registered in src/cli (the program is built in-process, nothing is spawned). When this fails,
 * each line of the message names the README line, the command and the option, and what to write.
 * The conventions are in test/helpers/readme-options.ts.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { createProgram } from '../../src/cli/main.js';
import { checkCommand, checkReadme, checkUnknownSections, cliCommands, readmeSections } from '../helpers/readme-options.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const commands = cliCommands(createProgram());
const sections = readmeSections(README);

function explain(problems: string[]): string {
  return `README.md and --help disagree (${problems.length} problem(s)):\n${problems.map((p) => `- ${p}`).join('\n')}\n`;
}

describe('README.md option tables match --help', () => {
  it('finds the commands registered in src/cli', () => {
    const paths = commands.map((c) => c.path);
    for (const name of ['cnnviz', 'cnnviz train', 'cnnviz visualize', 'cnnviz download', 'cnnviz summary', 'cnnviz predict']) {
      expect(paths).toContain(name);
    }
    expect(commands.find((c) => c.path === 'cnnviz train')!.options.map((o) => o.long)).toContain('--epochs');
  });

  it.each(commands.map((c) => [c.path, c] as const))('%s', (_path, cmd) => {
    const problems = checkCommand(cmd, sections);
    if (problems.length > 0) expect.fail(explain(problems));
  });

  it('has no section for a command that does not exist', () => {
    const problems = checkUnknownSections(commands, sections);
    if (problems.length > 0) expect.fail(explain(problems));
  });
});

// The checker itself, on a small program and README, so the test above is known to catch drift.
describe('checkReadme', () => {
  const program = new Command().name('tool');
  program.option('--debug', 'stack traces');
  program
    .command('run')
    .option('--epochs <n>', 'epochs', (v) => Number(v), 10)
    .option('--name <run-name>', 'run name (default: from the date)')
    .addOption(new Option('--viz <mode>', 'pictures').choices(['all', 'none']).default('all'))
    .addOption(new Option('--workers <n>', 'threads').default(4, 'available cores'))
    .requiredOption('--model <file|preset>', 'the model');
  const cmds = cliCommands(program).map((c) => ({ ...c, path: c.path.replace(/^tool/, 'cnnviz') }));
  const good = [
    '# tool',
    '### `cnnviz` options for every command',
    '| option | default | meaning |',
    '|---|---|---|',
    '| `--debug` | | stack traces |',
    '### `cnnviz run`',
    'Runs.',
    '',
    '| option | default | meaning |',
    '|---|---|---|',
    '| `--epochs <n>` | 10 | epochs |',
    '| `--name <run-name>` | `<model>-<date>` | run name |',
    '| `--viz <mode>` | `all` | `all` or `none` |',
    '| `--workers <n>` | available cores | threads |',
    '| `--model <file\\|preset>` | required | the model |',
    '',
    '```sh',
    '## `cnnviz ghost` inside a code block is not a heading',
    '```',
  ].join('\n');

  it('accepts a README that matches', () => {
    expect(checkReadme(cmds, good)).toEqual([]);
  });

  it('names a missing option with the row to add', () => {
    const p = checkReadme(cmds, good.replace('| `--epochs <n>` | 10 | epochs |\n', ''));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^README\.md:9 \("cnnviz run" option table\): option --epochs is missing; add the row\n {4}\| `--epochs <n>` \| `10` \| epochs \|$/);
  });

  it('names a wrong default, wrong flags, a missing choice and a required option without "required"', () => {
    const p = checkReadme(
      cmds,
      good
        .replace('| `--epochs <n>` | 10 |', '| `--epochs <count>` | 5 |')
        .replace('| `all` or `none` |', '| `all` or nothing |')
        .replace('| required | the model |', '| | the model |'),
    );
    expect(p).toEqual([
      'README.md:11: "cnnviz run" --epochs: README writes `--epochs <count>`, --help writes `--epochs <n>`; write `--epochs <n>`',
      'README.md:11: "cnnviz run" --epochs: default is "5" in README but "10" in --help; write `10` in the default column',
      'README.md:13: "cnnviz run" --viz: choice "none" is not mentioned; name every choice in backticks in the meaning column (--help: all, none)',
      'README.md:15: "cnnviz run" --model: the option is required, so its default cell should say "required" (README says "")',
    ]);
  });

  it('names an option the program does not have, a missing section and a section for no command', () => {
    const p = checkReadme(
      cmds,
      good.replace('| `--debug` | | stack traces |', '| `--debug` | | stack traces |\n| `--verbose` | | more |').replace('### `cnnviz run`', '### `cnnviz runs`'),
    );
    expect(p[0]).toMatch(/^README\.md:7: section "cnnviz runs" documents a command that --help does not list/);
    expect(p[1]).toBe('README.md:6: "cnnviz" has no option --verbose in --help; remove the row or add the option');
    expect(p[2]).toMatch(/^README\.md has no section for "cnnviz run": add a heading like "### `cnnviz run`" followed by this table:\n/);
    expect(p[2]).toContain('    | `--model <file\\|preset>` | required | the model |');
    expect(p).toHaveLength(3);
  });

  it('asks for a table when a section has only prose', () => {
    const p = checkReadme(cmds, good.replace(/\| option[^]*?\| `--debug` \| \| stack traces \|\n/, 'cnnviz [--debug]\n'));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^README\.md:2: section "cnnviz" has no option table; add after its heading:/);
  });
});
