import type { Logger } from '../log/index.js';

/** Exit code of a run-time failure (as opposed to 2, a refused usage or configuration). */
export const EXIT_FAILURE = 1;

/** The process must be gone within 2 s of a signal, even when a socket refuses to close. */
const SHUTDOWN_DEADLINE_MS = 1800;

export function onShutdownSignal(log: Logger, shutdown: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => {
      log.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown deadline passed, exiting anyway');
      process.exit(EXIT_FAILURE);
    }, SHUTDOWN_DEADLINE_MS).unref();
    shutdown().then(
      // Not process.exit(): zeromq.js honours a socket's linger (delivering what is still
      // queued) only when the process ends by itself, once every socket is closed. The
      // deadline above still bounds it.
      () => {
        process.exitCode = 0;
      },
      (err: Error) => {
        log.error({ err: err.message }, 'shutdown failed');
        process.exit(EXIT_FAILURE);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
