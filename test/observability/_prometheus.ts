/**
 * A real Prometheus server (Debian's `prometheus`, installed by scripts/test-setup.sh) on a
 * loopback port with a private data directory, and promtool.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollUntil } from '../helpers/poll.js';

export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export interface Alert {
  readonly labels: Record<string, string>;
  readonly state: 'pending' | 'firing' | 'inactive';
}

/** A port nothing listens on now (Prometheus cannot be told to pick one and report it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export class Prometheus {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly url: string,
  ) {}

  /** Starts Prometheus with `config` (prometheus.yml text) and extra files beside it (rule files). */
  static async start(config: string, files: Record<string, string> = {}): Promise<Prometheus> {
    const dir = mkdtempSync(join(tmpdir(), 'tickfan-prometheus-'));
    writeFileSync(join(dir, 'prometheus.yml'), config);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const port = await freePort();
    const child = spawn('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const prometheus = new Prometheus(child, dir, `http://127.0.0.1:${port}`);
    try {
      await pollUntil(async () => (await fetch(`${prometheus.url}/-/ready`)).ok, 'Prometheus to be ready', 20_000);
    } catch (err) {
      await prometheus.stop();
      throw new Error(`${(err as Error).message}; it said: ${output.join('')}`);
    }
    return prometheus;
  }

  /** An instant query; throws with Prometheus' error for a bad expression. */
  async query(expr: string): Promise<Sample[]> {
    const response = await fetch(`${this.url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const body = (await response.json()) as { status: string; error?: string; data?: { result: Sample[] } };
    if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`);
    return body.data!.result;
  }

  async labelValues(label: string, match: string): Promise<string[]> {
    const response = await fetch(`${this.url}/api/v1/label/${label}/values?${new URLSearchParams({ 'match[]': match })}`);
    return ((await response.json()) as { data: string[] }).data;
  }

  async alerts(): Promise<Alert[]> {
    const response = await fetch(`${this.url}/api/v1/alerts`);
    return ((await response.json()) as { data: { alerts: Alert[] } }).data.alerts;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      this.child.kill('SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs promtool with `args` and `input` on stdin; resolves with its exit code and output. */
export async function promtool(args: readonly string[], input?: string): Promise<{ code: number; output: string }> {
  const child = spawn('promtool', [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stdin.end(input ?? '');
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  return { code, output };
}
