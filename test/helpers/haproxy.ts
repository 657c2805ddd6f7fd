/**
 * Debian's haproxy running the shipped deploy/haproxy.cfg on loopback, with only the addresses
 * and ports the config takes from its environment set by the test: what ships is what is tested.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../client-ws/helpers.js';
import { pollUntil } from './poll.js';
import { withTimeout } from './tickfan-process.js';

export const HAPROXY_CONFIG = fileURLToPath(new URL('../../deploy/haproxy.cfg', import.meta.url));

/** The backend of deploy/haproxy.cfg and the names of its servers, in the order of `gateways`. */
const BACKEND = 'gateways';
const SERVERS = ['gateway-1', 'gateway-2'] as const;
export type ServerName = (typeof SERVERS)[number];

/** A gateway as haproxy reaches it: its WebSocket port and its metrics port (where /readyz is), on loopback unless `host` says. */
export interface GatewayPorts {
  readonly port: number;
  readonly metricsPort: number;
  readonly host?: string;
}

/** Where haproxy runs, when not on this machine's loopback (test/fleet runs it on a host of its own). */
export interface HaproxyPlacement {
  /** A command that runs haproxy in place, e.g. `ip netns exec NS`. */
  readonly launcher: readonly string[];
  /** The address haproxy binds there. */
  readonly host: string;
  /** Reads a URL's text from where haproxy can be reached (this process may not reach that host). */
  readonly get: (url: string) => Promise<string>;
}

const LOCAL: HaproxyPlacement = {
  launcher: [],
  host: '127.0.0.1',
  get: async (url) => {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return response.text();
  },
};

/** One server row of haproxy's stats: its check state (UP, DOWN, "UP 1/2", ...) and current sessions. */
export interface ServerStats {
  readonly status: string;
  readonly sessions: number;
}

export class Haproxy {
  private readonly output: string[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    /** Where clients connect: the gateways' WebSocket path through haproxy. */
    readonly url: string,
    private readonly statsUrl: string,
    private readonly placement: HaproxyPlacement,
  ) {
    child.stdout!.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => this.output.push(chunk.toString()));
    this.exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  }

  /**
   * Starts `haproxy -db -f deploy/haproxy.cfg` in front of two gateways (the shipped config's
   * gateway-1 and gateway-2) on free loopback ports; resolves once it serves its stats page.
   * The gateways need not be up yet: haproxy keeps them down until their /readyz answers 200.
   */
  static async start(gateways: readonly [GatewayPorts, GatewayPorts], placement = LOCAL): Promise<Haproxy> {
    const [port, statsPort] = [await freePort(), await freePort()];
    const { host } = placement;
    const env = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      LB_BIND: `${host}:${port}`,
      LB_STATS_BIND: `${host}:${statsPort}`,
      ...Object.fromEntries(gateways.flatMap((gateway, i) => [
        [`GATEWAY_${i + 1}`, `${gateway.host ?? '127.0.0.1'}:${gateway.port}`],
        [`GATEWAY_${i + 1}_CHECK_PORT`, String(gateway.metricsPort)],
      ])),
    };
    const [command = 'haproxy', ...args] = [...placement.launcher, 'haproxy', '-db', '-f', HAPROXY_CONFIG];
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const haproxy = new Haproxy(child, `ws://${host}:${port}/v1/ws`, `http://${host}:${statsPort}/stats;csv`, placement);
    try {
      // Nothing to wait on but the endpoint: haproxy says nothing when it has bound its ports.
      await Promise.race([
        pollUntil(async () => (await placement.get(haproxy.statsUrl)) !== '', 'haproxy to serve its stats page', 10_000, 50),
        haproxy.exited.then((code) => Promise.reject(new Error(`haproxy exited with code ${code}`))),
      ]);
    } catch (err) {
      await haproxy.stop();
      throw new Error(`${(err as Error).message}; it said: ${haproxy.output.join('')}`);
    }
    return haproxy;
  }

  /** haproxy's view of each gateway, from its stats CSV. */
  async servers(): Promise<Record<ServerName, ServerStats>> {
    const [header, ...rows] = (await this.placement.get(this.statsUrl)).trim().split('\n').map((line) => line.split(','));
    const column = (name: string) => header!.indexOf(name);
    const [pxname, svname, status, scur] = [column('# pxname'), column('svname'), column('status'), column('scur')];
    const found = new Map(rows.filter((row) => row[pxname] === BACKEND).map((row) => [row[svname], { status: row[status]!, sessions: Number(row[scur]) }]));
    return Object.fromEntries(SERVERS.map((name) => {
      const stats = found.get(name);
      if (stats === undefined) throw new Error(`haproxy's stats have no server ${BACKEND}/${name}`);
      return [name, stats];
    })) as Record<ServerName, ServerStats>;
  }

  /** Resolves once haproxy's checks put `server` in `status` (UP: in rotation, DOWN: out of it). */
  async waitForServer(server: ServerName, status: 'UP' | 'DOWN', timeoutMs = 10_000): Promise<void> {
    // haproxy reports check transitions only in its log, whose wording is not a contract: read its stats.
    await pollUntil(async () => (await this.servers())[server].status === status, `haproxy to see ${server} ${status}`, timeoutMs, 50);
  }

  /** What haproxy printed so far (alerts, server state changes). */
  log(): string {
    return this.output.join('');
  }

  /** Stops haproxy by its pid (SIGTERM: a hard stop, every tunnel cut), bounded in time. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    await withTimeout(this.exited, 5000, 'haproxy to exit').catch(() => {
      this.child.kill('SIGKILL');
      return this.exited;
    });
  }
}
