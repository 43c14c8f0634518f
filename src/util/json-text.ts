/** Parsing JSON read from a user's file, with one-line errors that never echo raw bytes. */
import { errorMessage, UserError } from './errors.js';

const SIGNATURES: [string, number[]][] = [
  ['a PNG image', [0x89, 0x50, 0x4e, 0x47]],
  ['a JPEG image', [0xff, 0xd8, 0xff]],
  ['a gzip archive', [0x1f, 0x8b]],
  ['a GIF image', [0x47, 0x49, 0x46, 0x38]],
  ['a WebP/RIFF file', [0x52, 0x49, 0x46, 0x46]],
  ['a zip archive', [0x50, 0x4b, 0x03, 0x04]],
];

/** "a PNG image", "a binary file", or null for text. */
export function binaryKind(bytes: Uint8Array): string | null {
  for (const [name, sig] of SIGNATURES) if (sig.every((b, i) => bytes[i] === b)) return name;
  const head = bytes.subarray(0, 4096);
  for (const b of head) if (b === 0 || (b < 32 && b !== 9 && b !== 10 && b !== 13 && b !== 12)) return 'a binary file';
  return null;
}

/** JSON.parse with a one-line UserError naming the file (the parser's message without quoted input). */
export function parseJsonText(bytes: Buffer, file: string, expected: string): unknown {
  const kind = binaryKind(bytes);
  if (kind) throw new UserError(`${file}: not a JSON file (it looks like ${kind}); expected ${expected}`);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    // V8 quotes the start of the input ('..., "<text>" is not valid JSON'): keep the position only.
    const msg = errorMessage(e)
      .split('\n')[0]
      .replace(/, "[^]*" is not valid JSON$/, ' (not valid JSON)')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')
      .slice(0, 160);
    throw new UserError(`${file}: not valid JSON: ${msg}`);
  }
}
