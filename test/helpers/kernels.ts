import { afterEach } from 'vitest';

/** Set CNNVIZ_KERNELS (undefined: unset it). */
function setKernels(value: string | undefined): void {
  if (value === undefined) delete process.env.CNNVIZ_KERNELS;
  else process.env.CNNVIZ_KERNELS = value;
}

/**
 * Run f with CNNVIZ_KERNELS set to `value` (undefined: unset), restoring the variable afterwards: when
 * f returns or throws, or when the promise it returns settles.
 */
export function withKernels<T>(value: string | undefined, f: () => T): T {
  const old = process.env.CNNVIZ_KERNELS;
  setKernels(value);
  let result: T;
  try {
    result = f();
  } catch (e) {
    setKernels(old);
    throw e;
  }
  if (result instanceof Promise) return result.finally(() => setKernels(old)) as T;
  setKernels(old);
  return result;
}

/** For tests that set CNNVIZ_KERNELS themselves: put back the value it had when this was called, after each test. */
export function restoreKernelsAfterEach(): void {
  const saved = process.env.CNNVIZ_KERNELS;
  afterEach(() => setKernels(saved));
}
