/** The part of a zeromq.js socket this needs: its monitor events (src/util takes no dependency). */
interface MonitoredSocket {
  readonly events: {
    on(type: 'close', listener: (event: { address: string }) => void): unknown;
    off(type: 'close', listener: (event: { address: string }) => void): unknown;
  };
}

/** libzmq closes a listener within this long of its socket's close. */
const RELEASE_TIMEOUT_MS = 1000;

/**
 * Resolves once libzmq's I/O thread has closed the listening socket of `endpoint` (at most a
 * second from now); ask before closing the socket. close() returns before that, and binding the
 * same endpoint again in the meantime fails with "Address already in use".
 */
export function listenerReleased(socket: MonitoredSocket, endpoint: string): Promise<void> {
  // Taken now: once the socket is closed, reading socket.events throws (ENOTSOCK).
  const events = socket.events;
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      events.off('close', onClose);
      resolve();
    };
    const onClose = (event: { address: string }): void => {
      if (event.address === endpoint) done();
    };
    const timer = setTimeout(done, RELEASE_TIMEOUT_MS);
    events.on('close', onClose);
  });
}
