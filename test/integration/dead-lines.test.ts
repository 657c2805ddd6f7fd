/**
 * Dead peers are noticed (issue 13): a proxy that goes silent without closing its connections
 * (SIGSTOP: the kernel keeps its sockets open) is seen by the gateway's and the snapshot
 * service's line probes within the ZMTP heartbeat timeout. The gateway tells its clients each
 * venue is stale and turns not ready; the snapshot service refuses SNAPSHOT with UNAVAILABLE
 * rather than serve state that stopped moving; both recover when the proxy resumes.
 */
import test from 'ava';
import WebSocket from 'ws';
import { SnapshotClient, SnapshotError } from '../../src/client/zmq/index.js';
import { pollUntil } from '../helpers/poll.js';
import { ipcDir, privateFabricEnv, TickfanProcess, withTimeout } from '../helpers/tickfan-process.js';

const HEARTBEAT = { TICKFAN_ZMQ_HEARTBEAT_INTERVAL_MS: '200', TICKFAN_ZMQ_HEARTBEAT_TIMEOUT_MS: '1000' };

interface StatusEvent {
  type: 'status';
  venue: string;
  state: string;
  reason?: string;
}

test('a silent proxy (SIGSTOP) is noticed within the heartbeat timeout: stale status to clients, /readyz 503, snapshot UNAVAILABLE; all recover on SIGCONT', async (t) => {
  const dir = ipcDir();
  const env = { ...privateFabricEnv(dir), ...HEARTBEAT, TICKFAN_FEEDS_STATUS_REPEAT_MS: '200', TICKFAN_FEEDS_SIMULATED_RATE: '200' };
  const proxy = new TickfanProcess(['start', '--roles', 'proxy'], env);
  const rest = new TickfanProcess(['start', '--roles', 'snapshot,feed,gateway'], env);
  const snapshots = new SnapshotClient({ endpoints: [env.TICKFAN_CONNECT_SNAPSHOT], timeoutMs: 2000 });
  let socket: WebSocket | undefined;
  t.teardown(() => {
    socket?.terminate();
    snapshots.close();
    proxy.child.kill('SIGCONT');
    proxy.kill();
    rest.kill();
    dir.cleanup();
  });
  await proxy.waitForLog('tickfan started');
  const gatewayPort = (await rest.waitForLog('gateway listening')).port as number;
  const readyz = `http://127.0.0.1:${String((await rest.waitForLog('metrics listening')).port)}/readyz`;
  await rest.waitForLog('tickfan started');
  await pollUntil(async () => (await fetch(readyz)).status === 200, 'the gateway and snapshot service to turn ready', 15_000);

  const statuses: StatusEvent[] = [];
  let ticks = 0;
  const waiters: (() => void)[] = [];
  const until = (done: () => boolean, what: string, ms = 10_000) => withTimeout(new Promise<void>((resolve) => {
    const check = () => (done() ? resolve() : waiters.push(check));
    check();
  }), ms, what);
  socket = new WebSocket(`ws://127.0.0.1:${gatewayPort}/v1/ws`);
  socket.on('message', (data) => {
    for (const event of JSON.parse(String(data)) as { type: string }[]) {
      if (event.type === 'status') statuses.push(event as StatusEvent);
      if (event.type === 'tick') ticks++;
    }
    waiters.splice(0).forEach((check) => check());
  });
  await new Promise((resolve) => socket!.once('open', resolve));
  socket.send(JSON.stringify({ op: 'subscribe', id: 1, topics: ['tick.SIM.*'] }));
  // Ticks flow once the subscription is served, and by then the gateway holds the venue's status
  // too: it follows status.* with a snapshot of its own for every client's venue.
  await until(() => ticks > 0, 'ticks to flow');

  const stoppedAt = performance.now();
  proxy.child.kill('SIGSTOP');
  const isCutOff = (s: StatusEvent) => s.venue === 'SIM' && s.state === 'stale' && (s.reason ?? '').includes('no line to the fabric');
  await until(() => statuses.some(isCutOff), 'a stale status naming the fabric');
  const noticedMs = Math.round(performance.now() - stoppedAt);
  t.true(noticedMs < 3000, `noticed after ${noticedMs} ms (heartbeat timeout 1000 ms)`);
  t.is((await fetch(readyz)).status, 503, '/readyz is 503 while no line is up');
  // The snapshot service's own probe notices on its own heartbeat schedule, within the same bound.
  let refused: unknown;
  await pollUntil(async () => {
    refused = await snapshots.snapshot('tick.').then(() => undefined, (err: unknown) => err);
    return refused !== undefined;
  }, 'the snapshot service to refuse SNAPSHOT', 5_000);
  t.true(refused instanceof SnapshotError && refused.code === 'UNAVAILABLE', `SNAPSHOT is refused UNAVAILABLE (${String(refused)})`);

  const resumedAt = statuses.length;
  proxy.child.kill('SIGCONT');
  await until(() => statuses.slice(resumedAt).some((s) => s.venue === 'SIM' && s.state === 'up'), 'the venue up again');
  await pollUntil(async () => (await fetch(readyz)).status === 200, 'ready again', 10_000);
  const before = ticks;
  await until(() => ticks > before, 'ticks to flow again');
  t.true((await snapshots.snapshot('tick.')).length > 0, 'SNAPSHOT is answered again');
  t.log(`a silent proxy was noticed after ${noticedMs} ms (zmq.heartbeatTimeoutMs 1000)`);
});
