/** How the benchmark spreads its clients over load processes, each on a source address of its own. */

/** Connections per load process at most: each client takes two ports of its address (holder.ts: PORT_BASE, ROUNDS), 10000 to 60000. */
export const MAX_PER_ADDRESS = 25_000;

/** Clients of each load process: `total` in shares of at most `perProcess`, as even as can be. */
export function shares(total: number, perProcess: number): number[] {
  if (perProcess > MAX_PER_ADDRESS) throw new Error(`at most ${MAX_PER_ADDRESS} clients per load process (one source address), got ${perProcess}`);
  const processes = Math.ceil(total / perProcess);
  return Array.from({ length: processes }, (_, i) => Math.floor(total / processes) + (i < total % processes ? 1 : 0));
}

/** The source address of load process `index`: 127.0.0.2, 127.0.0.3, ... (127.0.0.1 is the gateway's). */
export function sourceAddress(index: number): string {
  if (index < 0 || index > 252) throw new Error(`load process ${index}: only 127.0.0.2 to 127.0.0.254 are used`);
  return `127.0.0.${index + 2}`;
}
