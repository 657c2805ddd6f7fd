/**
 * The fleet of the fault matrix: every role of tickfan on its own network host (net.ts), as
 * `tickfan start --roles R` processes from dist/, the source on the feed host (source.ts) and
 * the clients on the client host (clients.ts). Roles can be killed, stopped and restarted by
 * host name; each restart runs the same command line again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child } from '../../bench/common/spawn.js';
import { TickfanProcess, withTimeout } from '../helpers/tickfan-process.js';
import type { ClientsMethods, ClientsSetup } from './clients.js';
import { Network } from './net.js';
import type { SourceMethods } from './source.js';

export const HOSTS = ['feed', 'proxy-a', 'proxy-b', 'snapshot-a', 'snapshot-b', 'gateway-1', 'gateway-2', 'haproxy', 'client'] as const;
export type Host = (typeof HOSTS)[number];
/** The hosts that run a tickfan role, with the role. */
const ROLE_OF = {
  feed: 'feed', 'proxy-a': 'proxy', 'proxy-b': 'proxy', 'snapshot-a': 'snapshot', 'snapshot-b': 'snapshot', 'gateway-1': 'gateway', 'gateway-2': 'gateway',
} as const;
export type RoleHost = keyof typeof ROLE_OF;

export const PORTS = { frontend: 5555, backend: 5556, snapshot: 5557, gateway: 8080, metrics: 9464, haproxyStats: 8404 } as const;
/** A drain window short enough for the matrix's time budget, long enough to spread the closes. */
const DRAIN_MS = 2_000;
/** On the feed host's loopback: the ingest edge the driver pushes to. */
const INGEST = 'tcp://127.0.0.1:5554';

export const VENUE = 'FLT';
export const SYMBOLS = Array.from({ length: 60 }, (_, i) => `S${String(i).padStart(2, '0')}`);

const HAPROXY_CONFIG = fileURLToPath(new URL('../../deploy/haproxy.cfg', import.meta.url));

/** How long a role may take to start on this busy machine. */
const START_MS = 20_000;

export class Fleet {
  readonly roles = new Map<RoleHost, TickfanProcess>();
  /** Every process a host ran, oldest first: the logs of killed ones explain failures too. */
  readonly history = new Map<RoleHost, TickfanProcess[]>();
  private readonly stateDir = mkdtempSync(join(tmpdir(), 'tickfan-fleet-'));
  private haproxy: ChildProcess | undefined;
  private readonly haproxyOutput: string[] = [];
  private constructor(
    readonly network: Network,
    readonly source: Child<SourceMethods>,
    readonly clients: Child<ClientsMethods>,
  ) {}

  /** Builds the hosts and starts every role, the source and the clients. */
  static async start(): Promise<Fleet> {
    const network = await Network.create(HOSTS);
    const source = new Child<SourceMethods>(new URL('./source.ts', import.meta.url), 'fleet source', network.launcher('feed'));
    const clients = new Child<ClientsMethods>(new URL('./clients.ts', import.meta.url), 'fleet clients', network.launcher('client'));
    const fleet = new Fleet(network, source, clients);
    try {
      await source.started();
      await source.call('start', { ingest: INGEST, witness: { connect: fleet.endpoint('proxy-a', 'backend') }, venue: VENUE, symbols: SYMBOLS }, 10_000);
      for (const host of ['proxy-a', 'proxy-b', 'snapshot-a', 'snapshot-b', 'gateway-1', 'gateway-2', 'feed'] as const) await fleet.startRole(host);
      fleet.startHaproxy();
      await clients.started();
      for (const gateway of ['gateway-1', 'gateway-2'] as const) await fleet.inRotation(gateway, true);
      await clients.call('setup', fleet.clientsSetup(), 30_000);
    } catch (err) {
      await fleet.stop();
      throw err;
    }
    return fleet;
  }

  endpoint(host: Host, port: keyof typeof PORTS): string {
    return `tcp://${this.network.address(host)}:${PORTS[port]}`;
  }

  metricsUrl(host: Host): string {
    return `http://${this.network.address(host)}:${PORTS.metrics}/metrics`;
  }

  role(host: RoleHost): TickfanProcess {
    const proc = this.roles.get(host);
    if (proc === undefined) throw new Error(`${host} runs nothing`);
    return proc;
  }

  /** Starts the role of `host` (again), resolving once it logged that it started. */
  async startRole(host: RoleHost): Promise<TickfanProcess> {
    const proc = new TickfanProcess(['start', '--roles', ROLE_OF[host]], this.roleEnv(host), { launcher: this.network.launcher(host) });
    this.roles.set(host, proc);
    this.history.set(host, [...(this.history.get(host) ?? []), proc]);
    await proc.waitForLog('tickfan started', () => true, START_MS);
    return proc;
  }

  /** Sends `signal` to the role of `host` and waits for it to end (SIGKILL, SIGTERM). */
  async end(host: RoleHost, signal: NodeJS.Signals): Promise<void> {
    this.signal(host, signal);
    await this.ended(host);
  }

  /** Resolves once the role of `host` has exited. */
  async ended(host: RoleHost): Promise<void> {
    await withTimeout(this.role(host).exited, 15_000, `${host} to exit`);
  }

  signal(host: RoleHost, signal: NodeJS.Signals): void {
    this.role(host).child.kill(signal);
  }

  /**
   * Resolves once haproxy's health checks have put `gateway` in rotation (true) or taken it
   * out (false), as its stats page says; polled, since haproxy announces nothing else.
   */
  async inRotation(gateway: 'gateway-1' | 'gateway-2', wanted: boolean, timeoutMs = 15_000): Promise<void> {
    const url = `http://${this.network.address('haproxy')}:${PORTS.haproxyStats}/stats;csv`;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const csv = await this.clients.call('scrape', { url }, 5_000).catch(() => '');
      const row = csv.split('\n').find((line) => line.startsWith(`gateways,${gateway},`));
      if ((row?.split(',')[17] === 'UP') === wanted) return;
      if (performance.now() > deadline) throw new Error(`haproxy did not ${wanted ? 'put' : 'take'} ${gateway} ${wanted ? 'in' : 'out of'} rotation within ${timeoutMs} ms (its row: ${row}); it said: ${this.haproxyOutput.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The JSON log lines of every run of `host`, oldest first. */
  logs(host: RoleHost): string[] {
    return (this.history.get(host) ?? []).flatMap((proc) => proc.stderrText);
  }

  /** Stops everything (by pid) and removes the hosts. */
  async stop(): Promise<void> {
    await Promise.all([this.clients.stop(5_000), this.source.stop(5_000)]);
    this.haproxy?.kill('SIGKILL');
    for (const proc of this.roles.values()) proc.kill();
    await Promise.all([...this.roles.values()].map((proc) => withTimeout(proc.exited, 5_000, 'a role to exit').catch(() => undefined)));
    await this.network.teardown();
    rmSync(this.stateDir, { recursive: true, force: true });
  }

  /** The shipped deploy/haproxy.cfg on the haproxy host, in front of both gateways. */
  private startHaproxy(): void {
    const address = (host: Host) => this.network.address(host);
    const env = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      LB_BIND: `${address('haproxy')}:${PORTS.gateway}`,
      LB_STATS_BIND: `${address('haproxy')}:${PORTS.haproxyStats}`,
      GATEWAY_1: `${address('gateway-1')}:${PORTS.gateway}`, GATEWAY_1_CHECK_PORT: String(PORTS.metrics),
      GATEWAY_2: `${address('gateway-2')}:${PORTS.gateway}`, GATEWAY_2_CHECK_PORT: String(PORTS.metrics),
    };
    const [command = 'ip', ...args] = [...this.network.launcher('haproxy'), 'haproxy', '-db', '-f', HAPROXY_CONFIG];
    this.haproxy = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.haproxy.stdout!, this.haproxy.stderr!]) stream.on('data', (chunk: Buffer) => this.haproxyOutput.push(chunk.toString()));
  }

  private clientsSetup(): ClientsSetup {
    return {
      wsUrl: `ws://${this.network.address('haproxy')}:${PORTS.gateway}/v1/ws`,
      wsPattern: `tick.${VENUE}.*`,
      ws: [{ conflate: false }, { conflate: false }, { conflate: true }, { conflate: true }],
      backends: this.lines('backend'),
      snapshots: [this.endpoint('snapshot-a', 'snapshot'), this.endpoint('snapshot-b', 'snapshot')],
      prefix: `tick.${VENUE}.`,
    };
  }

  /** The proxies' frontends or backends, as a role's connect list names them. */
  private lines(port: 'frontend' | 'backend'): string[] {
    return [this.endpoint('proxy-a', port)];
  }

  private roleEnv(host: RoleHost): Record<string, string> {
    const common = { TICKFAN_METRICS_HOST: '0.0.0.0', TICKFAN_METRICS_PORT: String(PORTS.metrics) };
    const bindAll = (port: keyof typeof PORTS) => `tcp://0.0.0.0:${PORTS[port]}`;
    switch (ROLE_OF[host]) {
      case 'feed':
        return { ...common, TICKFAN_FEEDS_SIMULATED_ENABLED: 'false', TICKFAN_FEEDS_INGEST_ENDPOINT: INGEST, TICKFAN_CONNECT_FRONTEND: this.lines('frontend').join(',') };
      case 'proxy':
        return { ...common, TICKFAN_PROXY_FRONTEND: bindAll('frontend'), TICKFAN_PROXY_BACKEND: bindAll('backend') };
      case 'snapshot':
        return {
          ...common, TICKFAN_SNAPSHOT_ENDPOINT: bindAll('snapshot'), TICKFAN_CONNECT_BACKEND: this.lines('backend').join(','),
          TICKFAN_SNAPSHOT_PERSIST_FILE: join(this.stateDir, `${host}.ndjson`),
        };
      case 'gateway':
        return {
          ...common, TICKFAN_GATEWAY_HOST: '0.0.0.0', TICKFAN_GATEWAY_PORT: String(PORTS.gateway), TICKFAN_GATEWAY_DRAIN_MS: String(DRAIN_MS),
          TICKFAN_CONNECT_BACKEND: this.lines('backend').join(','),
          TICKFAN_CONNECT_SNAPSHOT: [this.endpoint('snapshot-a', 'snapshot'), this.endpoint('snapshot-b', 'snapshot')].join(','),
        };
    }
  }
}
