/**
 * Named scratch buffers reused across batches, so kernels allocate nothing once warmed up.
 * A buffer only grows; callers must use just the first `size` elements they asked for.
 */
export class Workspace {
  private readonly buffers = new Map<string, Float32Array>();

  get(name: string, size: number): Float32Array {
    let buf = this.buffers.get(name);
    if (!buf || buf.length < size) {
      buf = new Float32Array(size);
      this.buffers.set(name, buf);
    }
    return buf;
  }

  /** Total bytes held, for memory reports. */
  bytes(): number {
    let total = 0;
    for (const b of this.buffers.values()) total += b.byteLength;
    return total;
  }
}
