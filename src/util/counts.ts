/** Adds each count of `from` to the same key of `into` (counts by reason, by line, ...); returns `into`. */
export function addCounts<K>(into: Map<K, number>, from: Iterable<readonly [K, number]>): Map<K, number> {
  for (const [key, count] of from) into.set(key, (into.get(key) ?? 0) + count);
  return into;
}
