/** The benchmark's table (Markdown, for docs/performance.md) and its verdict against issue 15's targets. */
import { count, cpu, markdownTable, micros } from '../common/format.js';

/** Issue 15's target: gateway memory per idle connection. */
export const TARGET_BYTES_PER_CONNECTION = 10 * 1024;

export interface RunResult {
  readonly connections: number;
  readonly connectSeconds: number;
  /** Growth of the gateway's RSS and V8 heap from before the clients to after, per client. */
  readonly rssPerConnection: number;
  readonly heapPerConnection: number;
  readonly rssAfter: number;
  readonly heapAfter: number;
  readonly idleCpuPercent: number;
  readonly broadcastP99Micros: number | undefined;
  readonly broadcastMaxMicros: number | undefined;
  /** Clients reached by the broadcast per second: all of them over the time the last one took. */
  readonly deliveriesPerSecond: number | undefined;
  readonly stormSeconds: number;
  /** % of one core the gateway, and the busiest load process, used during the storm. */
  readonly stormGatewayCpu: number;
  readonly stormLoadCpu: number;
  readonly resumed: number;
  /** What did not reach every client, one line per step. */
  readonly failures: readonly string[];
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
}

const HEADER = ['connections', 'connect', 'RSS/conn', 'heap/conn', 'RSS, heap after', 'idle CPU', 'broadcast p99', 'broadcast max', 'delivery rate', 'storm', 'storm CPU gw, load', 'resumed', 'failures'];

export function resultsTable(results: readonly RunResult[]): string {
  return markdownTable(HEADER, results.map((r) => [
    count(r.connections),
    `${r.connectSeconds.toFixed(1)} s`,
    kib(r.rssPerConnection),
    kib(r.heapPerConnection),
    `${mib(r.rssAfter)}, ${mib(r.heapAfter)}`,
    cpu(r.idleCpuPercent),
    micros(r.broadcastP99Micros),
    micros(r.broadcastMaxMicros),
    r.deliveriesPerSecond === undefined ? '-' : `${count(r.deliveriesPerSecond)}/s`,
    `${r.stormSeconds.toFixed(1)} s`,
    `${cpu(r.stormGatewayCpu)}, ${cpu(r.stormLoadCpu)}`,
    count(r.resumed),
    String(r.failures.length),
  ]), []);
}

/** One line per run: whether it met the memory target and resumed every client. */
export function verdicts(results: readonly RunResult[]): string[] {
  return results.map((r) => {
    const memory = r.rssPerConnection <= TARGET_BYTES_PER_CONNECTION && r.heapPerConnection <= TARGET_BYTES_PER_CONNECTION ? 'within' : 'over';
    const storm = r.resumed === r.connections ? 'every client resumed' : `${r.connections - r.resumed} clients not resumed`;
    return `${count(r.connections)}: memory per connection ${memory} the ${kib(TARGET_BYTES_PER_CONNECTION)} target; ${storm}${r.failures.map((f) => `\n  failure: ${f}`).join('')}`;
  });
}
