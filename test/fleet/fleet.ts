/**
 * The fleet of the fault matrix: every role of tickfan on its own network host (net.ts), as
 * `tickfan start --roles R` processes from dist/, the source on the feed host (source.ts) and
 * the clients on the client host (clients.ts). Roles can be killed, stopped and restarted by
 * host name; each restart runs the same command line again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Child } from '../../bench/common/spawn.js';
import { Haproxy } from '../helpers/haproxy.js';
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

export const PORTS = { frontend: 5555, backend: 5556, snapshot: 5557, gateway: 8080, metrics: 9464 } as const;
/** A drain window short enough for the matrix's time budget, long enough to spread the closes. */
const DRAIN_MS = 2_000;
/**
 * subscriber.arbitrationMs of every subscriber in the fleet. The default, 10 ms, is for lines
 * that drift apart by a network hop; here nine hosts share two cores with the rest of the test
 * suite, and a line's delivery can be late by scheduling delays longer than that: in some
 * full-suite runs the holes that a restarted proxy-a's first messages opened expired before
 * line B's copies came, as gaps and REPLAYs (the row passed whenever run alone). A window an
 * operator would set for such hosts.
 */
const ARBITRATION_MS = 50;
/** On the feed host's loopback: the ingest edge the driver pushes to, and the witness's line. */
const INGEST = 'tcp://127.0.0.1:5554';
const WITNESS = 'tcp://127.0.0.1:5599';

/** WebSocket clients on the client host, half of them conflate:false. */
export const WS_CLIENTS = 4;
export const VENUE = 'FLT';
export const SYMBOLS = Array.from({ length: 60 }, (_, i) => `S${String(i).padStart(2, '0')}`);

/** How long a role may take to start on this busy machine. */
const START_MS = 20_000;

export class Fleet {
  readonly roles = new Map<RoleHost, TickfanProcess>();
  /** Every process a host ran, oldest first: the logs of killed ones explain failures too. */
  readonly history = new Map<RoleHost, TickfanProcess[]>();
  private readonly stateDir = mkdtempSync(join(tmpdir(), 'tickfan-fleet-'));
  private haproxyProcess: Haproxy | undefined;
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
      await source.call('start', { ingest: INGEST, witness: WITNESS, venue: VENUE, symbols: SYMBOLS }, 10_000);
      for (const host of ['proxy-a', 'proxy-b', 'snapshot-a', 'snapshot-b', 'gateway-1', 'gateway-2', 'feed'] as const) await fleet.startRole(host);
      await clients.started();
      await fleet.startHaproxy();
      for (const gateway of ['gateway-1', 'gateway-2'] as const) await fleet.haproxy.waitForServer(gateway, 'UP', START_MS);
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

  get haproxy(): Haproxy {
    if (this.haproxyProcess === undefined) throw new Error('haproxy is not running');
    return this.haproxyProcess;
  }

  /** Warnings and errors every role logged since `sinceMs` (ms since the Unix epoch), as `host: line`, oldest first per host. */
  warnings(sinceMs: number): string[] {
    return [...this.history].flatMap(([host, runs]) => runs.flatMap((proc) => proc.logs)
      .filter((line) => line.level >= 40 && (line.time as number) >= sinceMs)
      .map((line) => `${host}: ${JSON.stringify(line)}`));
  }

  /** Stops everything (by pid) and removes the hosts. */
  async stop(): Promise<void> {
    await Promise.all([this.clients.stop(5_000), this.source.stop(5_000)]);
    await this.haproxyProcess?.stop();
    for (const proc of this.roles.values()) proc.kill();
    await Promise.all([...this.roles.values()].map((proc) => withTimeout(proc.exited, 5_000, 'a role to exit').catch(() => undefined)));
    await this.network.teardown();
    rmSync(this.stateDir, { recursive: true, force: true });
  }

  /** The shipped deploy/haproxy.cfg on the haproxy host, in front of both gateways; its stats are read through the client host. */
  private async startHaproxy(): Promise<void> {
    const gateway = (host: Host) => ({ host: this.network.address(host), port: PORTS.gateway, metricsPort: PORTS.metrics });
    this.haproxyProcess = await Haproxy.start([gateway('gateway-1'), gateway('gateway-2')], {
      launcher: this.network.launcher('haproxy'),
      host: this.network.address('haproxy'),
      get: (url) => this.clients.call('scrape', { url }, 5_000),
    });
  }

  private clientsSetup(): ClientsSetup {
    return {
      wsUrl: this.haproxy.url,
      wsPattern: `tick.${VENUE}.*`,
      // every-0, every-1, conflate-2, conflate-3: connected in this order, leastconn puts one of each kind on each gateway.
      ws: Array.from({ length: WS_CLIENTS }, (_, i) => ({ conflate: i >= WS_CLIENTS / 2 })),
      backends: this.lines('backend'),
      arbitrationMs: ARBITRATION_MS,
      snapshots: [this.endpoint('snapshot-a', 'snapshot'), this.endpoint('snapshot-b', 'snapshot')],
      prefix: `tick.${VENUE}.`,
    };
  }

  /** The A and B lines: the proxies' frontends or backends, as a role's connect list names them. */
  private lines(port: 'frontend' | 'backend'): string[] {
    return [this.endpoint('proxy-a', port), this.endpoint('proxy-b', port)];
  }

  private roleEnv(host: RoleHost): Record<string, string> {
    const common = { TICKFAN_METRICS_HOST: '0.0.0.0', TICKFAN_METRICS_PORT: String(PORTS.metrics), TICKFAN_SUBSCRIBER_ARBITRATION_MS: String(ARBITRATION_MS) };
    const bindAll = (port: keyof typeof PORTS) => `tcp://0.0.0.0:${PORTS[port]}`;
    switch (ROLE_OF[host]) {
      case 'feed':
        return { ...common, TICKFAN_FEEDS_SIMULATED_ENABLED: 'false', TICKFAN_FEEDS_INGEST_ENDPOINT: INGEST, TICKFAN_CONNECT_FRONTEND: [...this.lines('frontend'), WITNESS].join(',') };
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
