import { describe, expect, it } from 'vitest';
import { byteSize, runName, seedNumber, wholeNumber } from '../../src/cli/options.js';
import { parseProbeIndices } from '../../src/train/probe.js';
import { binaryKind, parseJsonText } from '../../src/util/json-text.js';

describe('option parsers', () => {
  it('seeds: 0 .. 2^32-1 in decimal digits only', () => {
    expect(seedNumber('0')).toBe(0);
    expect(seedNumber('4294967295')).toBe(4294967295);
    for (const bad of ['4294967296', '', ' ', '-1', '1e3', '0x10', '1.0']) expect(() => seedNumber(bad), bad).toThrow(/0 to 4294967295/);
  });

  it('whole numbers refuse empty values (Number("") is 0) and respect a maximum', () => {
    expect(() => wholeNumber(0)('')).toThrow();
    expect(() => wholeNumber(1, 64)('65')).toThrow(/<= 64/);
    expect(wholeNumber(1, 64)('64')).toBe(64);
  });

  it('run names are one path segment', () => {
    expect(runName('my-run_1')).toBe('my-run_1');
    for (const bad of ['', '../../escape', '/abs', 'a/b', 'a\\b', '.', '..']) expect(() => runName(bad), bad).toThrow();
  });

  it('--probe: a list of distinct test image indices', () => {
    expect(parseProbeIndices('3, 17,42')).toEqual([3, 17, 42]);
    expect(() => parseProbeIndices('1,1')).toThrow(/^--probe: "1,1" lists test image 1 more than once; give each index once$/);
    expect(() => parseProbeIndices('5,2,7,2')).toThrow(/test image 2 more than once/);
    for (const bad of ['', 'a', '1,-2', '1.5']) expect(() => parseProbeIndices(bad), bad).toThrow(/not a comma-separated list/);
  });

  it('sizes', () => {
    expect(byteSize('512M')).toBe(512 * 2 ** 20);
    expect(byteSize('2G')).toBe(2 ** 31);
    expect(byteSize('1.5GiB')).toBe(1.5 * 2 ** 30);
    expect(byteSize('1000')).toBe(1000);
    for (const bad of ['', 'lots', '-1G', '0']) expect(() => byteSize(bad), bad).toThrow();
  });
});

describe('JSON from user files', () => {
  it('names binary files instead of printing their bytes', () => {
    expect(binaryKind(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe('a PNG image');
    expect(binaryKind(Buffer.from('{"a": 1}'))).toBeNull();
    expect(() => parseJsonText(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]), 'x.png', 'a spec')).toThrow(/^x\.png: not a JSON file \(it looks like a PNG image\); expected a spec$/);
  });

  it('keeps parser messages to one line without the quoted input', () => {
    let msg = '';
    try {
      parseJsonText(Buffer.from('{"layers": [1, 2,, 3]}\n'.repeat(50)), 'bad.json', 'a spec');
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^bad\.json: not valid JSON: /);
    expect(msg).not.toContain('\n');
    expect(msg.length).toBeLessThan(220);
  });
});
