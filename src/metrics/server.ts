import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../log/index.js';

/** A named readiness check of a role: the process is ready when every check passes. */
export interface ReadinessCheck {
  readonly name: string;
  check(): boolean | Promise<boolean>;
}

export interface MetricsServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
}

/** How long /readyz waits for a check (a PING to a snapshot service) before counting it as not ready. */
const CHECK_TIMEOUT_MS = 2000;

/**
 * PROTOCOL.md section 6 on the metrics port: `/metrics` (Prometheus text format), `/healthz`
 * (the process answers) and `/readyz` (200 only when every role's readiness check passes; the
 * body names the ones that do not).
 */
export class MetricsServer {
  private readonly http: Server;

  constructor(
    private readonly registry: Registry,
    private readonly checks: readonly ReadinessCheck[],
    private readonly log: Logger,
  ) {
    this.http = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
        return;
      }
      const answer = path === '/metrics' ? this.metrics() : path === '/healthz' ? Promise.resolve(ok('ok\n')) : path === '/readyz' ? this.readiness() : Promise.resolve(notFound());
      answer.then(
        ({ status, type, body }) => res.writeHead(status, { 'content-type': type }).end(body),
        (err: Error) => {
          this.log.error({ err: err.message, path }, 'metrics endpoint failed');
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`);
        },
      );
    });
  }

  /** Listens; a port in use is an error naming the port and the setting. Resolves with the port. */
  async listen(options: MetricsServerOptions): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(options.port, options.host, () => resolve());
    }).catch((err: Error) => {
      throw new Error(`cannot serve metrics on ${options.host}:${options.port} (setting metrics.port): ${err.message}`);
    });
    const { port } = this.http.address() as { port: number };
    this.log.info({ host: options.host, port }, 'metrics listening');
    return port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private async metrics(): Promise<Answer> {
    return { status: 200, type: this.registry.contentType, body: await this.registry.metrics() };
  }

  private async readiness(): Promise<Answer> {
    const results = await Promise.all(this.checks.map(async ({ name, check }) => ({ name, ready: await withDeadline(check()) })));
    const failing = results.filter((result) => !result.ready).map((result) => result.name);
    if (failing.length === 0) return ok('ready\n');
    return { status: 503, type: 'text/plain; charset=utf-8', body: `not ready: ${failing.join(', ')}\n` };
  }
}

interface Answer {
  readonly status: number;
  readonly type: string;
  readonly body: string;
}

function ok(body: string): Answer {
  return { status: 200, type: 'text/plain; charset=utf-8', body };
}

function notFound(): Answer {
  return { status: 404, type: 'text/plain; charset=utf-8', body: 'not found: try /metrics, /healthz or /readyz\n' };
}

/** A check that throws or takes too long counts as not ready. */
async function withDeadline(result: boolean | Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([Promise.resolve(result).catch(() => false), late]);
  } finally {
    clearTimeout(timer);
  }
}
