/**
 * Class names, read from data files (batches.meta.txt, fine_label_names.txt, ...) or taken from folder
 * names: the one place that decides what a class name may be, so every reader treats them alike.
 */
import { promises as fsp } from 'node:fs';
import { capClassName } from '../util/class-names.js';
import { UserError } from '../util/errors.js';

/** Fashion-MNIST's classes, as published with the data set (label order). */
export const FASHION_MNIST_CLASS_NAMES: readonly string[] = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
/** MNIST's classes: the digits. */
export const MNIST_CLASS_NAMES: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/**
 * Check a list of class names: non-empty, no control characters, no duplicates. Returns the names
 * (trimmed, and capped: capClassName, so a hostile names file costs nothing later). `where` names the
 * file or folder they came from.
 */
export function checkClassNames(names: readonly string[], where: string): string[] {
  const out = names.map((n) => capClassName(n.trim()));
  const seen = new Map<string, number>();
  out.forEach((n, i) => {
    if (n.length === 0) throw new UserError(`${where}: class ${i} has an empty name`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(n)) throw new UserError(`${where}: class ${i} name ${JSON.stringify(n)} contains control characters`);
    const j = seen.get(n);
    if (j !== undefined) throw new UserError(`${where}: classes ${j} and ${i} have the same name "${n}"`);
    seen.set(n, i);
  });
  return out;
}

/**
 * Parse a class-name file's text: one name per line, blank lines ignored; exactly `expected` names
 * when given.
 */
export function parseClassNames(text: string, path: string, expected?: number): string[] {
  const names = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (expected !== undefined && names.length !== expected) {
    throw new UserError(
      `${path}: expected ${expected} class names (one per line), found ${names.length}` +
        (names.length > 0 && names.length <= 20 ? ` (${names.join(', ')})` : ''),
    );
  }
  return checkClassNames(names, path);
}

/** Read a class-name file (one name per line). */
export async function readClassNamesFile(path: string, expected?: number): Promise<string[]> {
  let text: string;
  try {
    const st = await fsp.stat(path);
    if (!st.isFile()) throw new UserError(`${path}: not a regular file (expected the class names, one per line)`);
    text = await fsp.readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(code === 'ENOENT' ? `${path}: file missing (the class names, one per line)` : `${path}: cannot read (${(e as Error).message})`);
  }
  return parseClassNames(text, path, expected);
}
