/**
 * proxy.upstream end to end as an operator runs it: `tickfan start --roles proxy` with
 * TICKFAN_PROXY_UPSTREAM listing two root proxies (one with a feed), ticks arriving on the
 * regional backend, and ZMTP heartbeats turning a frozen root (SIGSTOP) into a disconnected
 * upstream: the per-upstream gauge and /readyz (ready while one upstream is connected).
 */
import test from 'ava';
import { Subscriber } from 'zeromq';
import { decodeMessage, type DecodedMessage } from '../../src/wire/index.js';
import { ipcDir, privateFabricEnv, TickfanProcess, withTimeout, type LogLine } from '../helpers/tickfan-process.js';

const HEARTBEAT = { TICKFAN_ZMQ_HEARTBEAT_INTERVAL_MS: '100', TICKFAN_ZMQ_HEARTBEAT_TIMEOUT_MS: '500' };

async function metricsUrl(proc: TickfanProcess): Promise<string> {
  return `http://127.0.0.1:${String((await proc.waitForLog('metrics listening')).port)}`;
}

const readyz = async (url: string): Promise<number> => (await fetch(`${url}/readyz`)).status;

/** tickfan_proxy_upstream_connected by endpoint, and tickfan_proxy_publishers, from /metrics. */
async function upstreamGauges(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const gauges: Record<string, number> = {};
  for (const [, endpoint, value] of text.matchAll(/^tickfan_proxy_upstream_connected\{endpoint="([^"]+)"\} (\d+)$/gm)) gauges[endpoint!] = Number(value);
  gauges.publishers = Number(/^tickfan_proxy_publishers (-?\d+)$/m.exec(text)?.[1]);
  return gauges;
}

/** The next tick published at or after `sinceMs` (ms since the Unix epoch), skipping older ones still in flight. */
async function tickPublishedSince(subscriber: Subscriber, sinceMs: number): Promise<DecodedMessage> {
  for (;;) {
    const message = decodeMessage(await withTimeout(subscriber.receive(), 10_000, `a tick published after ${new Date(sinceMs).toISOString()}`));
    if (message.header.ts >= sinceMs * 1000) return message;
  }
}

/** The regional proxy's log line `msg` for `endpoint`, logged after `since` (ms since the Unix epoch). */
const linkLog = (proc: TickfanProcess, msg: string, endpoint: string, since = 0): Promise<LogLine> =>
  proc.waitForLog(msg, (line) => line.endpoint === endpoint && (line.time as number) >= since);

test('a regional `tickfan start --roles proxy` with TICKFAN_PROXY_UPSTREAM listing two roots carries the feed\'s ticks and follows each root\'s state', async (t) => {
  const dirs = { a: ipcDir(), b: ipcDir(), regional: ipcDir() };
  const processes: TickfanProcess[] = [];
  t.teardown(() => {
    processes.forEach((p) => p.kill());
    Object.values(dirs).forEach((dir) => dir.cleanup());
  });
  const start = (roles: string, env: Record<string, string>) => {
    const proc = new TickfanProcess(['start', '--roles', roles], { ...HEARTBEAT, ...env });
    processes.push(proc);
    return proc;
  };
  const fabric = { a: privateFabricEnv(dirs.a), b: privateFabricEnv(dirs.b), regional: privateFabricEnv(dirs.regional) };
  const rootA = start('proxy,feed', { ...fabric.a, TICKFAN_FEEDS_SIMULATED_RATE: '50', TICKFAN_FEEDS_INGEST_ENABLED: 'false' });
  const rootB = start('proxy', fabric.b);
  const [upstreamA, upstreamB] = [fabric.a.TICKFAN_PROXY_BACKEND, fabric.b.TICKFAN_PROXY_BACKEND];
  const regional = start('proxy', { ...fabric.regional, TICKFAN_PROXY_UPSTREAM: `${upstreamA}, ${upstreamB}` });
  const url = await metricsUrl(regional);
  await Promise.all([linkLog(regional, 'upstream connected', upstreamA), linkLog(regional, 'upstream connected', upstreamB)]);
  // Upstream links are not local publishers: the gauge stays 0 on connect and disconnect alike.
  t.deepEqual(await upstreamGauges(url), { [upstreamA]: 1, [upstreamB]: 1, publishers: 0 });
  t.is(await readyz(url), 200);

  const subscriber = new Subscriber({ linger: 0 });
  t.teardown(() => subscriber.close());
  subscriber.connect(fabric.regional.TICKFAN_PROXY_BACKEND);
  subscriber.subscribe('tick.SIM.');
  const tick = await tickPublishedSince(subscriber, 0);
  t.is(tick.kind, 'tick');
  t.true(tick.topic.startsWith('tick.SIM.'), tick.topic);

  // Frozen, root A keeps its connections open but sends no heartbeat.
  const frozenAt = Date.now();
  rootA.child.kill('SIGSTOP');
  await linkLog(regional, 'upstream disconnected', upstreamA, frozenAt);
  const detectedMs = Date.now() - frozenAt;
  t.log(`a frozen upstream was noticed after ${detectedMs} ms (zmq.heartbeatTimeoutMs 500)`);
  t.true(detectedMs < 3_000, `noticed within 3 s, took ${detectedMs} ms`);
  t.deepEqual(await upstreamGauges(url), { [upstreamA]: 0, [upstreamB]: 1, publishers: 0 });
  t.is(await readyz(url), 200, 'still ready while root B is connected');

  const killedAt = Date.now();
  rootB.kill();
  await linkLog(regional, 'upstream disconnected', upstreamB, killedAt);
  t.deepEqual(await upstreamGauges(url), { [upstreamA]: 0, [upstreamB]: 0, publishers: 0 });
  t.is(await readyz(url), 503, 'not ready with no upstream connected');

  const thawedAt = Date.now();
  rootA.child.kill('SIGCONT');
  await linkLog(regional, 'upstream connected', upstreamA, thawedAt);
  t.is(await readyz(url), 200, 'ready again once root A is back');
  const again = await tickPublishedSince(subscriber, thawedAt);
  t.true(again.topic.startsWith('tick.SIM.'), again.topic);
  t.is(again.header.epoch, tick.header.epoch, 'the same run of the feed, forwarded again');
});
