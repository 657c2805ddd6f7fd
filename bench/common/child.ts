/** The child side of the RPC: answers the parent's calls, exits cleanly and never outlives it. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Methods, Request, Response } from './rpc.js';

/** Cleanup (closing sockets, stopping roles) gets this long before the process exits regardless. */
const SHUTDOWN_MS = 3_000;

let shuttingDown = false;

function send(response: Response): void {
  if (process.connected) process.send!(response);
}

/**
 * Serves `methods` until the parent says exit or goes away. Calls may overlap: a long call
 * (a flow of ticks, a series of requests) keeps running while shorter ones are answered.
 */
export function serve(methods: Methods, cleanup: () => Promise<void> | void = () => {}): void {
  const shutdown = async (code: number): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    await Promise.race([Promise.resolve().then(cleanup).catch(() => undefined), sleep(SHUTDOWN_MS)]);
    process.exit(code);
  };
  process.on('message', (request: Request) => {
    if (request.type === 'exit') {
      void shutdown(0);
      return;
    }
    const method = methods[request.method];
    if (method === undefined) {
      send({ type: 'error', id: request.id, error: `no method ${request.method}` });
      return;
    }
    (method as (params: unknown) => Promise<unknown>)(request.params).then(
      (result) => send({ type: 'result', id: request.id, result }),
      (err: unknown) => send({ type: 'error', id: request.id, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
    );
  });
  // An orphan (the parent crashed or was killed) must not keep running.
  process.on('disconnect', () => void shutdown(0));
  send({ type: 'hello' });
}
