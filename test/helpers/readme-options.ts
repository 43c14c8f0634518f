/**
 * Compares README.md's option tables with what commander shows in --help, command by command.
 *
 * README convention (one section per command, checked the same way for all):
 *   a heading whose text starts with `cnnviz <command>` in backticks (`cnnviz` alone: the options every
 *   command takes), then, before the next heading, a table
 *     | option | default | meaning |
 *   with one row per option: the flags exactly as --help prints them in backticks, the default as
 *   --help prints it (backticks and quotes optional; `required` for a required option; free text when
 *   commander has no default, e.g. "from the seed"), and a meaning that names every choice in backticks.
 * `-h, --help` is left out everywhere.
 *
 * Every problem is reported as one line naming the README line, the command and the option, and says
 * what to write, so whoever adds an option can fix the README from the message alone.
 */
import type { Command, Option } from 'commander';

export interface CliOption {
  flags: string;
  long: string;
  description: string;
  /** The default as --help shows it, or undefined when commander has none. */
  default?: string;
  required: boolean;
  choices?: string[];
}

export interface CliCommand {
  /** "cnnviz", "cnnviz train", ... */
  path: string;
  options: CliOption[];
}

export interface DocRow {
  line: number;
  flags: string;
  default: string;
  meaning: string;
}

export interface DocSection {
  path: string;
  line: number;
  /** undefined when the section has no option table. */
  table?: { line: number; rows: DocRow[] };
  problems: string[];
}

function formatDefault(o: Option): string | undefined {
  if (o.defaultValueDescription !== undefined) return o.defaultValueDescription;
  const v: unknown = o.defaultValue;
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.map(String).join(',');
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function longName(flags: string): string {
  return /--[A-Za-z0-9][\w-]*/.exec(flags)?.[0] ?? flags.split(/[ ,]/)[0];
}

/** Every command (and the program itself) with the options --help lists for it, help left out. */
export function cliCommands(program: Command): CliCommand[] {
  const out: CliCommand[] = [];
  const walk = (cmd: Command, path: string) => {
    const help = cmd.createHelp();
    const options = help
      .visibleOptions(cmd)
      .filter((o) => o.long !== '--help')
      .map((o) => ({
        flags: o.flags,
        long: o.long ?? longName(o.flags),
        description: o.description,
        default: formatDefault(o),
        required: o.mandatory,
        choices: o.argChoices,
      }));
    out.push({ path, options });
    for (const sub of help.visibleCommands(cmd)) if (sub.name() !== 'help') walk(sub, `${path} ${sub.name()}`);
  };
  walk(program, program.name());
  return out;
}

const FENCE = /^\s*(```|~~~)/;
const HEADING = /^(#{1,6})\s+(.*)$/;
const SECTION = /^`(cnnviz(?: [a-z][a-z0-9-]*)*)`/;

function cells(line: string): string[] {
  const parts = line.trim().split(/(?<!\\)\|/);
  return parts.slice(1, parts.length - 1).map((c) => c.trim());
}

const unescapePipes = (s: string) => s.replace(/\\\|/g, '|');
const plain = (s: string) => unescapePipes(s).replace(/`/g, '').replace(/^"(.*)"$/, '$1').trim();

/** The command sections of a README and their option tables. */
export function readmeSections(markdown: string): DocSection[] {
  const lines = markdown.split('\n');
  const sections: DocSection[] = [];
  let current: DocSection | undefined;
  let inFence = false;
  let inTable = false;
  let tableDone = false;
  lines.forEach((text, i) => {
    const line = i + 1;
    if (FENCE.test(text)) {
      inFence = !inFence;
      inTable = false;
      return;
    }
    if (inFence) return;
    const h = HEADING.exec(text);
    if (h) {
      inTable = false;
      tableDone = false;
      const m = SECTION.exec(h[2].trim());
      current = m ? { path: m[1], line, problems: [] } : undefined;
      if (current) sections.push(current);
      return;
    }
    if (!current) return;
    const isRow = text.trim().startsWith('|');
    if (!isRow) {
      if (inTable) tableDone = true;
      inTable = false;
      return;
    }
    if (tableDone) return; // only the first table of a section lists its options
    if (!inTable) {
      inTable = true;
      const header = cells(text).map((c) => c.toLowerCase());
      if (header.join('|') !== 'option|default|meaning') {
        current.problems.push(`README.md:${line}: the first table under "${current.path}" should have the header | option | default | meaning |, found ${text.trim()}`);
      }
      current.table = { line, rows: [] };
      return;
    }
    const c = cells(text);
    if (c.every((cell) => /^:?-+:?$/.test(cell))) return; // the separator row
    const flags = /^`([^`]+)`$/.exec(c[0] ?? '');
    if (!flags || c.length !== 3) {
      current.problems.push(
        `README.md:${line}: each row of the "${current.path}" option table needs three cells and exactly one option in backticks in the first, e.g. | \`--epochs <n>\` | 10 | ... |; found ${text.trim()}`,
      );
      return;
    }
    current.table!.rows.push({ line, flags: unescapePipes(flags[1]).trim(), default: plain(c[1]), meaning: unescapePipes(c[2]) });
  });
  return sections;
}

const escapePipes = (s: string) => s.replace(/\|/g, '\\|');

function suggestedRow(o: CliOption): string {
  const def = o.required ? 'required' : o.default !== undefined ? `\`${escapePipes(o.default)}\`` : '';
  const choices = o.choices ? ` (${o.choices.map((c) => `\`${c}\``).join(', ')})` : '';
  return `| \`${escapePipes(o.flags)}\` | ${def} | ${escapePipes(o.description)}${choices} |`;
}

/** Sections naming a command the program does not have. */
export function checkUnknownSections(commands: CliCommand[], sections: DocSection[]): string[] {
  const known = new Set(commands.map((c) => c.path));
  return sections
    .filter((s) => !known.has(s.path))
    .map((s) => `README.md:${s.line}: section "${s.path}" documents a command that --help does not list (known: ${[...known].join(', ')})`);
}

/** Everything in which README.md's section for one command differs from its --help; empty when they agree. */
export function checkCommand(cmd: CliCommand, sections: DocSection[]): string[] {
  const problems: string[] = [];
  const matching = sections.filter((s) => s.path === cmd.path);
  if (matching.length === 0) {
    return [
      `README.md has no section for "${cmd.path}": add a heading like "### \`${cmd.path}\`" followed by this table:\n` +
        `    | option | default | meaning |\n    |---|---|---|\n${cmd.options.map((o) => `    ${suggestedRow(o)}`).join('\n')}`,
    ];
  }
  if (matching.length > 1) {
    problems.push(`README.md: "${cmd.path}" has ${matching.length} sections (lines ${matching.map((s) => s.line).join(', ')}); keep one`);
  }
  const section = matching[0];
  problems.push(...section.problems);
  if (!section.table) {
    if (cmd.options.length > 0) {
      problems.push(
        `README.md:${section.line}: section "${cmd.path}" has no option table; add after its heading:\n` +
          `    | option | default | meaning |\n    |---|---|---|\n${cmd.options.map((o) => `    ${suggestedRow(o)}`).join('\n')}`,
      );
    }
    return problems;
  }
  const rows = section.table.rows;
  const where = `README.md:${section.table.line} ("${cmd.path}" option table)`;
  const byLong = new Map<string, DocRow>();
  for (const row of rows) {
    const long = longName(row.flags);
    if (byLong.has(long)) problems.push(`README.md:${row.line}: ${long} is listed twice under "${cmd.path}" (also line ${byLong.get(long)!.line})`);
    else byLong.set(long, row);
  }
  const cliLongs = new Set(cmd.options.map((o) => o.long));
  for (const o of cmd.options) {
    const row = byLong.get(o.long);
    if (!row) {
      problems.push(`${where}: option ${o.long} is missing; add the row\n    ${suggestedRow(o)}`);
      continue;
    }
    const at = `README.md:${row.line}: "${cmd.path}" ${o.long}`;
    if (row.flags !== o.flags) problems.push(`${at}: README writes \`${row.flags}\`, --help writes \`${o.flags}\`; write \`${escapePipes(o.flags)}\``);
    if (o.required) {
      if (row.default !== 'required') problems.push(`${at}: the option is required, so its default cell should say "required" (README says "${row.default}")`);
    } else if (o.default !== undefined && row.default !== o.default) {
      problems.push(`${at}: default is "${row.default}" in README but "${o.default}" in --help; write \`${escapePipes(o.default)}\` in the default column`);
    }
    for (const choice of o.choices ?? []) {
      if (!row.meaning.includes(`\`${choice}\``)) {
        problems.push(`${at}: choice "${choice}" is not mentioned; name every choice in backticks in the meaning column (--help: ${o.choices!.join(', ')})`);
      }
    }
  }
  for (const [long, row] of byLong) {
    if (!cliLongs.has(long)) problems.push(`README.md:${row.line}: "${cmd.path}" has no option ${long} in --help; remove the row or add the option`);
  }
  return problems;
}

/** Everything in which README.md differs from --help; empty when they agree. */
export function checkReadme(commands: CliCommand[], markdown: string): string[] {
  const sections = readmeSections(markdown);
  return [...checkUnknownSections(commands, sections), ...commands.flatMap((c) => checkCommand(c, sections))];
}
