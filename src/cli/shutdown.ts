import type { Logger } from '../log/index.js';

/** Exit code of a run-time failure (as opposed to 2, a refused usage or configuration). */
export const EXIT_FAILURE = 1;

/** Once the roles have drained, the process must be gone within 2 s, even when a socket refuses to close. */
const SHUTDOWN_DEADLINE_MS = 1800;

/**
 * SIGTERM is how deploys stop a process (systemd, Kubernetes, `docker stop`): the roles drain
 * first. SIGINT (Ctrl-C at a terminal) stops at once.
 */
export type ShutdownSignal = 'SIGINT' | 'SIGTERM';

/**
 * Runs `shutdown` on the first SIGINT or SIGTERM, bounded by a deadline that grows by
 * `drainMs` on SIGTERM, the longest the roles' drain may take (gateway.drainMs, itself bounded).
 */
export function onShutdownSignal(log: Logger, shutdown: (signal: ShutdownSignal) => Promise<void>, drainMs = 0): void {
  let stopping = false;
  const handler = (signal: ShutdownSignal) => {
    if (stopping) return;
    stopping = true;
    const deadlineMs = SHUTDOWN_DEADLINE_MS + (signal === 'SIGTERM' ? drainMs : 0);
    log.info({ signal, deadlineMs }, 'shutting down');
    setTimeout(() => {
      log.error({ deadlineMs }, 'shutdown deadline passed, exiting anyway');
      process.exit(EXIT_FAILURE);
    }, deadlineMs).unref();
    shutdown(signal).then(
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
