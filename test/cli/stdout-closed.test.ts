/**
 * `cnnviz train --json | head -1`: the reader closes stdout. The run must not die with an EPIPE stack
 * trace; it says so once on stderr and finishes (checkpoints of every epoch). The pipe is closed before
 * the first line here, so every write meets the closed pipe whatever the timing.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeCifarDir } from '../data/fixtures.js';
import { BIN } from '../helpers/cli.js';

describe('stdout closed by its reader', () => {
  it('train --json goes on when stdout is closed (no EPIPE stack trace)', async () => {
    const data = writeCifarDir(join(tempDir('cnnviz-epipe-'), 'cifar'), [40, 40, 40, 40, 40], 20);
    const out = join(tempDir('cnnviz-epipe-'), 'run');
    const args = ['train', '--data', data, '--epochs', '3', '--train-limit', '64', '--test-limit', '20', '--viz', 'none', '--workers', '1', '--json', '--out', out];
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stderr).not.toMatch(/Unhandled 'error' event/);
    expect(code).toBe(0);
    expect(stderr.match(/^cnnviz: standard output was closed \(EPIPE\)/gm)).toHaveLength(1);
    expect(stderr).toMatch(/done: 3 epoch\(s\)/);
    expect(existsSync(join(out, 'checkpoints', 'epoch-003.json'))).toBe(true);
  }, 60_000);
});
