/**
 * The NATS peer: Debian's nats-server with its WebSocket listener, on loopback ports picked
 * free, configured by a file in a temp directory (shipped defaults otherwise: what users
 * compare with). Ended by its pid; killed at the latest when the benchmark exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const BINARY = 'nats-server';
const READY_LINE = 'Server is ready';
const STARTUP_MS = 15_000;
const STOP_MS = 5_000;
/** How much of its log is kept to explain a failure. */
const LOG_TAIL_LINES = 20;

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class NatsServer {
  private readonly logTail: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    /** Where publishers connect (NATS over TCP). */
    readonly port: number,
    readonly wsUrl: string,
  ) {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.logTail.push(line);
      if (this.logTail.length > LOG_TAIL_LINES) this.logTail.shift();
    });
  }

  static async start(): Promise<NatsServer> {
    const [port, wsPort] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'tickfan-nats-'));
    const config = join(dir, 'nats.conf');
    writeFileSync(config, `listen: "127.0.0.1:${port}"\nwebsocket {\n  listen: "127.0.0.1:${wsPort}"\n  no_tls: true\n}\n`);
    const child = spawn(BINARY, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    running.add(child);
    child.once('exit', () => running.delete(child));
    const server = new NatsServer(child, dir, port, `ws://127.0.0.1:${wsPort}/`);
    try {
      await server.ready();
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  get pid(): number {
    return this.child.pid!;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined) {
      const exited = once(this.child, 'exit');
      process.kill(this.child.pid, 'SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_MS);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${BINARY} did not say "${READY_LINE}" within ${STARTUP_MS} ms${this.hint()}`)), STARTUP_MS);
      createInterface({ input: this.child.stderr! }).on('line', (line) => {
        if (!line.includes(READY_LINE)) return;
        clearTimeout(timer);
        resolve();
      });
      this.child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`${BINARY} did not start: ${err.message} (scripts/test-setup.sh installs Debian's nats-server)`));
      });
      this.child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${BINARY} exited (${signal ?? `code ${code}`}) while starting${this.hint()}`));
      });
    });
  }

  private hint(): string {
    return this.logTail.length > 0 ? `; its log ends with:\n${this.logTail.join('\n')}` : '';
  }
}

/** A loopback TCP port nothing listens on right now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  probe.close();
  if (address === null || typeof address === 'string') throw new Error(`unexpected probe address ${String(address)}`);
  return address.port;
}
