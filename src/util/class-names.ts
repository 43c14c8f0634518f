/**
 * Class names come from files (batches.meta.txt, a checkpoint, an ONNX model's metadata) and end up in
 * labels, pages and JSON. A name is capped where it is read, so that nothing downstream (label fitting,
 * SVG text, the report) ever works on a name of unbounded length.
 */

/** Longest class name kept, in characters (CIFAR-10's longest is 10). */
export const MAX_CLASS_NAME_CHARS = 100;

/** `name` cut to MAX_CLASS_NAME_CHARS characters, with an ellipsis when cut. */
export function capClassName(name: string): string {
  if (name.length <= MAX_CLASS_NAME_CHARS) return name;
  // Code points (a cut never splits a surrogate pair), of a prefix only: a huge name is never split whole.
  const chars = Array.from(name.slice(0, 2 * MAX_CLASS_NAME_CHARS));
  if (name.length <= 2 * MAX_CLASS_NAME_CHARS && chars.length <= MAX_CLASS_NAME_CHARS) return name;
  return `${chars.slice(0, MAX_CLASS_NAME_CHARS - 1).join('')}…`;
}
