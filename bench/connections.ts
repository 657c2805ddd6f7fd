/**
 * Connections at scale (issue 15): 10,000 and 50,000 idle WebSocket clients on one gateway,
 * from load processes on source addresses 127.0.0.2.. (so ephemeral ports do not run out), as
 * separate OS processes beside proxy, snapshot role and feed. Measures the gateway's memory per
 * idle connection, its CPU while idle (heartbeats, pings), one broadcast tick's delivery to all,
 * and a reconnect storm: the gateway killed and started again, every client resuming with `since`.
 */
import { optionsOnQuietMachine } from './common/cli.js';
import { childDied } from './common/spawn.js';
import { parseOptions, USAGE } from './connections/args.js';
import { Fabric } from './connections/fabric.js';
import { resultsTable, verdicts, type RunResult } from './connections/report.js';
import { runConnections } from './connections/run.js';

async function main(): Promise<void> {
  const started = performance.now();
  const options = await optionsOnQuietMachine(parseOptions, USAGE);
  if (options === undefined) return;
  console.log(`one topic all clients follow; idle window ${options.idleSeconds} s; ${options.perProcess} clients per load process${options.quick ? '; --quick' : ''}\n`);
  const results: RunResult[] = [];
  const errors: string[] = [];
  const fabric = await Promise.race([Fabric.start(), childDied]);
  try {
    for (const connections of options.connections) {
      console.error(`${connections} connections:`);
      try {
        results.push(await Promise.race([runConnections(fabric, connections, options), childDied]));
      } catch (err) {
        errors.push(`${connections} connections: ${(err as Error).message}`);
        console.error(`  error: ${(err as Error).message}`);
      }
    }
  } finally {
    await fabric.close();
  }
  console.log(resultsTable(results));
  console.log(`\n${verdicts(results).join('\n')}`);
  for (const error of errors) console.log(`Error in ${error}`);
  console.log(`\nTotal run time ${((performance.now() - started) / 1000).toFixed(0)} s.`);
  if (errors.length > 0 || results.some((r) => r.failures.length > 0)) process.exitCode = 1;
}

await main();
