import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/util/errors.js';
import { readTensors, writeJsonWithTensors } from '../../src/util/tensor-file.js';
import { tempDir } from '../data/fixtures.js';

const f32 = (...v: number[]): Float32Array => Float32Array.from(v);

describe('JSON with a binary tensor file beside it', () => {
  it('round-trips the tensors exactly, and the JSON stays small', async () => {
    const dir = tempDir('cnnviz-tf-');
    const file = join(dir, 'epoch-001.json');
    const big = new Float32Array(100_000).map((_, i) => Math.sin(i) * 1e-3);
    await writeJsonWithTensors(file, { format: 'x', note: 'hi' }, [{ name: 'params', data: big }, { name: 'gsum', data: f32(1, -2, 1e-40) }]);
    const json = JSON.parse(readFileSync(file, 'utf8')) as { binary: unknown; note: string };
    expect(readFileSync(file).length).toBeLessThan(1000);
    expect(json.note).toBe('hi');
    const t = readTensors(file, json.binary);
    const p = t.get('params')!;
    expect(Buffer.compare(Buffer.from(p.buffer, p.byteOffset, p.byteLength), Buffer.from(big.buffer))).toBe(0);
    expect(Array.from(t.get('gsum')!)).toEqual([1, -2, Math.fround(1e-40)]);
    expect(readdirSync(dir).filter((n) => n.endsWith('.bin'))).toHaveLength(1);
  });

  it('rewriting replaces the pair: the old binary goes once the new JSON points elsewhere', async () => {
    const dir = tempDir('cnnviz-tf-');
    const file = join(dir, 'epoch-001.json');
    await writeJsonWithTensors(file, {}, [{ name: 'p', data: f32(1, 2) }]);
    const first = readdirSync(dir).filter((n) => n.endsWith('.bin'));
    await writeJsonWithTensors(file, {}, [{ name: 'p', data: f32(3, 4) }]);
    const second = readdirSync(dir).filter((n) => n.endsWith('.bin'));
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(first[0]);
    // Another JSON's binaries (a longer stem) are left alone.
    await writeJsonWithTensors(join(dir, 'epoch-001-interrupted.json'), {}, [{ name: 'p', data: f32(5) }]);
    expect(readdirSync(dir).filter((n) => n.endsWith('.bin'))).toHaveLength(2);
    expect(Array.from(readTensors(file, JSON.parse(readFileSync(file, 'utf8')).binary).get('p')!)).toEqual([3, 4]);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a missing, truncated or altered binary file is a one-line error', async () => {
    const dir = tempDir('cnnviz-tf-');
    const file = join(dir, 'ck.json');
    const ref = await writeJsonWithTensors(file, {}, [{ name: 'p', data: f32(1, 2, 3) }]);
    const bin = join(dir, ref.file);
    const bytes = readFileSync(bin);
    const fails = (pattern: RegExp): void => {
      let e: unknown;
      try {
        readTensors(file, ref);
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(UserError);
      expect((e as Error).message).toMatch(pattern);
      expect((e as Error).message).not.toContain('\n');
    };
    writeFileSync(bin, bytes.subarray(0, 8));
    fails(/holds 8 bytes, ck\.json expects 12/);
    const altered = Buffer.from(bytes);
    altered[0] ^= 1;
    writeFileSync(bin, altered);
    fails(/does not match its checksum/);
    rmSync(bin);
    fails(/binary file .* cannot be read: no such file \(copy it together with the \.json\)$/);
    expect(() => readTensors(file, { ...ref, file: '../escape.bin' })).toThrow(/file name ending in \.bin/);
    expect(() => readTensors(file, { ...ref, tensors: [{ name: 'p', offset: 2, length: 5 }] })).toThrow(/lies beyond/);
  });
});
