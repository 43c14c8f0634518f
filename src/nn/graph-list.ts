/**
 * The layer list of a graph network as an indented list, for the report: layers in computation order,
 * indented by the number of branches alive besides the one being computed (so the two paths of a
 * residual block sit one step in, and the join comes back out), with "<- a + b" on joins and on layers
 * that do not read the line above, and "-> x, y" on layers whose output feeds more than one layer.
 */
export interface GraphNode {
  index: number;
  name: string;
  type: string;
  description: string;
  /** Indices of the layers it reads. */
  inputs: number[];
}

export interface GraphRow {
  index: number;
  name: string;
  description: string;
  /** Branches alive besides this one (0 on a plain chain). */
  depth: number;
  /** Names of its inputs when they are not just the layer above; empty otherwise. */
  from: string[];
  /** Names of the layers it feeds when there is more than one. */
  to: string[];
}

export function graphRows(nodes: readonly GraphNode[]): GraphRow[] {
  const readers = new Map<number, number[]>();
  for (const n of nodes) for (const j of n.inputs) readers.set(j, [...(readers.get(j) ?? []), n.index]);
  const remaining = new Map<number, number>();
  for (const [j, r] of readers) remaining.set(j, r.length);
  const live = new Set<number>();
  const byIndex = new Map(nodes.map((n) => [n.index, n]));
  return nodes.map((n, k) => {
    for (const j of n.inputs) {
      const left = (remaining.get(j) ?? 1) - 1;
      remaining.set(j, left);
      if (left <= 0) live.delete(j);
    }
    if ((readers.get(n.index)?.length ?? 0) > 0) live.add(n.index);
    const previous = k > 0 ? nodes[k - 1].index : -1;
    const plain = n.inputs.length === 0 || (n.inputs.length === 1 && n.inputs[0] === previous);
    const feeds = readers.get(n.index) ?? [];
    return {
      index: n.index,
      name: n.name,
      description: n.description,
      depth: Math.max(0, live.size - 1),
      from: plain ? [] : n.inputs.map((j) => byIndex.get(j)?.name ?? String(j)),
      to: feeds.length > 1 ? feeds.map((j) => byIndex.get(j)?.name ?? String(j)) : [],
    };
  });
}

/** The rows as plain text lines (summary-like), e.g. "  09  s1b1-add  add  <- s1b1-2-bn + stem". */
export function graphText(rows: readonly GraphRow[]): string[] {
  return rows.map((r) => {
    const joins = r.from.length ? `  <- ${r.from.join(' + ')}` : '';
    const splits = r.to.length ? `  -> ${r.to.join(', ')}` : '';
    return `${String(r.index).padStart(2, '0')} ${'  '.repeat(r.depth)}${r.name}: ${r.description}${joins}${splits}`;
  });
}
