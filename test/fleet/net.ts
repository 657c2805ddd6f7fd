/**
 * Hosts as Linux network namespaces, for the fault matrix (test/fleet/matrix.test.ts): one
 * bridge in a namespace of its own, so the machine's root namespace is never touched; one
 * veth pair per host, `eth0` with an address of SUBNET in the host's namespace and the other
 * end on the bridge; `lo` up everywhere. Faults: a host's link down (its bridge-side end) and
 * partitions (nftables drop rules inside a host's namespace).
 *
 * Every namespace is named PREFIX<pid>-<name>, the pid being the test process's: teardown
 * removes what this run made, and sweepLeftovers() what runs that were killed before their
 * teardown left behind (their pid is gone), never a namespace of a run still going.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The system's own directories only: under npm and ava, PATH starts with node_modules/.bin,
 * where `nft` is @vercel/nft's file tracer, not nftables.
 */
const SYSTEM_ENV = { ...process.env, PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

/** Namespaces of this suite, and only they, start with this. */
export const PREFIX = 'tickfan-fleet-';
/** A private /24: the hosts' addresses never leave the bridge's namespace. */
const SUBNET = '10.213.0';
const BRIDGE = 'br0';
/** Our own nftables table in a host's namespace: healing deletes it and nothing else. */
const NFT_TABLE = 'tickfan_fleet';

async function ip(...args: string[]): Promise<string> {
  try {
    return (await run('ip', args, { env: SYSTEM_ENV })).stdout;
  } catch (err) {
    throw new Error(`ip ${args.join(' ')} failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
  }
}

/** Runs `argv` in namespace `ns` with `input` on its stdin. */
function execIn(ns: string, argv: readonly string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { env: SYSTEM_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${argv.join(' ')} in ${ns} exited with ${code}: ${stderr.trim()}`))));
    child.stdin.end(input);
  });
}

/**
 * Why this machine cannot build the hosts (not root, no `ip`, namespaces refused), or
 * undefined when it can: the one reason the suite may skip.
 */
export async function namespacesUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'network namespaces need root (the suite runs as root in CI)';
  const probe = `${PREFIX}${process.pid}-probe`;
  try {
    await ip('netns', 'add', probe);
  } catch (err) {
    return `cannot create a network namespace: ${(err as Error).message}`;
  }
  await ip('netns', 'del', probe);
  return undefined;
}

async function ourNamespaces(): Promise<string[]> {
  const listing = await ip('netns', 'list');
  return listing.split('\n').map((line) => line.split(' ')[0]!).filter((name) => name.startsWith(PREFIX));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills what still runs in `ns` (a killed run's roles), by pid, then deletes it with its veth ends. */
async function removeNamespace(ns: string): Promise<void> {
  const pids = (await ip('netns', 'pids', ns).catch(() => '')).split('\n').filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await ip('netns', 'del', ns).catch(() => undefined);
}

/** Removes the namespaces of earlier runs of this suite whose test process is gone; returns their names. */
export async function sweepLeftovers(): Promise<string[]> {
  const stale = (await ourNamespaces()).filter((ns) => {
    const pid = Number(ns.slice(PREFIX.length).split('-')[0]);
    return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid);
  });
  for (const ns of stale) await removeNamespace(ns);
  return stale;
}

/** A partition in force: heal() deletes its drop rules. */
export interface Partition {
  heal(): Promise<void>;
}

/** The hosts of one run, each with its namespace and address; teardown() removes them all. */
export class Network {
  private readonly addresses = new Map<string, string>();
  private readonly bridgeNs: string;
  /** Namespaces with our nftables table in them. */
  private readonly partitioned = new Set<string>();

  private constructor(readonly hosts: readonly string[]) {
    this.bridgeNs = this.namespaceName('bridge');
    hosts.forEach((host, i) => this.addresses.set(host, `${SUBNET}.${10 + i}`));
  }

  /** Builds the bridge and one host per name (at most 200, names of [a-z0-9-]). */
  static async create(hosts: readonly string[]): Promise<Network> {
    const bad = hosts.find((host) => !/^[a-z0-9-]{1,15}$/.test(host)) ?? (hosts.includes('bridge') ? 'bridge' : undefined);
    if (bad !== undefined) throw new Error(`host name ${JSON.stringify(bad)}: must be 1-15 characters of [a-z0-9-], and not "bridge"`);
    if (new Set(hosts).size !== hosts.length || hosts.length > 200) throw new Error('host names must be distinct, at most 200');
    const network = new Network(hosts);
    try {
      await network.build();
    } catch (err) {
      await network.teardown();
      throw err;
    }
    return network;
  }

  namespace(host: string): string {
    this.address(host);
    return this.namespaceName(host);
  }

  address(host: string): string {
    const address = this.addresses.get(host);
    if (address === undefined) throw new Error(`no host ${host} (hosts: ${this.hosts.join(', ')})`);
    return address;
  }

  /** The argv prefix that runs a program on `host` (ip netns exec keeps the pid: signals reach the program). */
  launcher(host: string): string[] {
    return ['ip', 'netns', 'exec', this.namespace(host)];
  }

  /** Cuts `host` off the bridge: its own interface loses carrier, as when a cable is pulled. */
  linkDown(host: string): Promise<string> {
    return ip('-n', this.bridgeNs, 'link', 'set', 'dev', host, 'down');
  }

  linkUp(host: string): Promise<string> {
    return ip('-n', this.bridgeNs, 'link', 'set', 'dev', host, 'up');
  }

  /**
   * Drops every packet between the hosts of `side` and those of `others`, both ways, by rules
   * in each namespace of `side` (so `others` keep talking to everyone else).
   */
  async partition(side: readonly string[], others: readonly string[]): Promise<Partition> {
    const peers = others.map((host) => this.address(host)).join(', ');
    const rules = `table inet ${NFT_TABLE} {
  chain input { type filter hook input priority 0; policy accept; ip saddr { ${peers} } drop; }
  chain output { type filter hook output priority 0; policy accept; ip daddr { ${peers} } drop; }
}
`;
    const namespaces = side.map((host) => this.namespace(host));
    for (const ns of namespaces) {
      if (this.partitioned.has(ns)) throw new Error(`${ns} is already partitioned; heal it first`);
      await execIn(ns, ['nft', '-f', '-'], rules);
      this.partitioned.add(ns);
      const listed = await execIn(ns, ['nft', 'list', 'table', 'inet', NFT_TABLE]);
      if (!listed.includes('drop')) throw new Error(`the drop rules did not take in ${ns}: nft lists ${JSON.stringify(listed)}`);
    }
    return { heal: () => this.heal(namespaces) };
  }

  /** Removes every namespace of this run (killing what still runs in them, by pid). */
  async teardown(): Promise<void> {
    for (const host of this.hosts) await removeNamespace(this.namespaceName(host));
    await removeNamespace(this.bridgeNs);
  }

  private async heal(namespaces: readonly string[]): Promise<void> {
    for (const ns of namespaces) {
      if (!this.partitioned.delete(ns)) continue;
      await execIn(ns, ['nft', 'delete', 'table', 'inet', NFT_TABLE]);
    }
  }

  private namespaceName(name: string): string {
    return `${PREFIX}${process.pid}-${name}`;
  }

  private async build(): Promise<void> {
    await ip('netns', 'add', this.bridgeNs);
    await ip('-n', this.bridgeNs, 'link', 'add', 'name', BRIDGE, 'type', 'bridge');
    await ip('-n', this.bridgeNs, 'link', 'set', 'dev', BRIDGE, 'up');
    for (const host of this.hosts) {
      const ns = this.namespaceName(host);
      await ip('netns', 'add', ns);
      // Both ends are made inside namespaces of ours: nothing appears in the root namespace.
      // "name" and "dev" spelled out: a host called e.g. "a" would otherwise read as a keyword.
      await ip('-n', this.bridgeNs, 'link', 'add', 'name', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      await ip('-n', this.bridgeNs, 'link', 'set', 'dev', host, 'master', BRIDGE, 'up');
      await ip('-n', ns, 'addr', 'add', `${this.address(host)}/24`, 'dev', 'eth0');
      await ip('-n', ns, 'link', 'set', 'dev', 'eth0', 'up');
      await ip('-n', ns, 'link', 'set', 'dev', 'lo', 'up');
    }
  }
}
