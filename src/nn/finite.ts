/**
 * Non-finite parameters (NaN or ±Infinity) mean a diverged network: its outputs are meaningless
 * (argmax of NaNs is class 0), so nothing may be saved from it or computed with it.
 */
import { UserError } from '../util/errors.js';

/** How many values are NaN or infinite. */
export function countNonFinite(values: Float32Array): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    // v - v is NaN exactly for NaN and ±Infinity; cheaper than Number.isFinite in this loop.
    const v = values[i];
    if (v - v !== 0) n++;
  }
  return n;
}

/** `predict`, `visualize` and `--resume`: refuse a snapshot whose parameters are not all finite (exit 2). */
export function assertFiniteParams(params: Float32Array, file: string): void {
  const bad = countNonFinite(params);
  if (bad > 0) {
    throw new UserError(
      `${file}: ${bad.toLocaleString('en-US')} of ${params.length.toLocaleString('en-US')} parameters are NaN or infinite ` +
        '(the training diverged); this network cannot be used',
    );
  }
}

/**
 * `predict` and `visualize`: refuse outputs that are NaN or infinite although the parameters are finite
 * (values near float32's limit, about 3.4e38, overflow on the way): printed or drawn, they would be
 * NaN probabilities and blank pictures. `what` names the values, e.g. "the outputs on image.png".
 */
export function assertFiniteOutputs(values: Float32Array, file: string, what: string): void {
  const bad = countNonFinite(values);
  if (bad > 0) {
    throw new UserError(
      `${file}: ${what}: ${bad.toLocaleString('en-US')} of ${values.length.toLocaleString('en-US')} values are NaN or infinite, ` +
        'although its parameters are finite (values overflow float32, about 3.4e38, on the way); this network cannot be used',
    );
  }
}
