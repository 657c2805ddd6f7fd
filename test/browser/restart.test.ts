import test from 'ava';
import type { Page } from 'playwright-core';
import { DEFAULT_INSTRUMENTS } from '../../src/feeds/simulated/index.js';
import { startGateway } from '../client-ws/helpers.js';
import { Fabric } from '../helpers/late-join.js';
import { boardAttribute, launchChromium, openTicker, rows, waitForConnection, waitForRows, type PageGlobals, type RowState } from './ticker-page.js';

/** Samples of the rows while the gateway restarts: at most this many, one per SAMPLE_MS. */
const MAX_SAMPLES = 400;
const SAMPLE_MS = 100;

/**
 * Reads every row's (epoch, seq) at intervals and records any row whose seq went backwards
 * within its epoch between two reads. (A seq applied twice shows between reads as no change,
 * so the page itself counts those: data-seq-violations, checked on every update.)
 */
class SeqSampler {
  samples = 0;
  readonly backwards: string[] = [];
  private readonly held = new Map<string, RowState>();
  private running = true;
  readonly done: Promise<void>;

  constructor(private readonly page: Page) {
    this.done = this.run();
    // Surfaced by stop(), which the test and its teardown await; not an unhandled rejection before.
    this.done.catch(() => {});
  }

  /** Resolves once every row's seq is above its seq in `before` (bounded by the sampler's own limit). */
  passed(before: readonly RowState[]): Promise<void> {
    return this.until(() => before.every((row) => (this.held.get(row.topic)?.seq ?? 0) > row.seq), () =>
      `rows did not carry on: ${before.filter((row) => (this.held.get(row.topic)?.seq ?? 0) <= row.seq).map((row) => row.topic).join(', ')}`);
  }

  /** Resolves once a sample of every row has been taken. */
  sampledOnce(): Promise<void> {
    return this.until(() => this.samples > 0, () => 'no sample of the rows');
  }

  private async until(done: () => boolean, failure: () => string): Promise<void> {
    for (let wait = 0; wait < MAX_SAMPLES; wait++) {
      if (done()) return;
      await this.page.waitForTimeout(SAMPLE_MS);
    }
    throw new Error(failure());
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  /** Samples until stopped or MAX_SAMPLES; a page that went away (test failed, teardown) ends it quietly. */
  private async run(): Promise<void> {
    try {
      await this.sample();
    } catch (err) {
      if (this.running) throw err;
    }
  }

  private async sample(): Promise<void> {
    while (this.running && this.samples < MAX_SAMPLES) {
      for (const row of await rows(this.page)) {
        const held = this.held.get(row.topic);
        if (held !== undefined && held.epoch === row.epoch && row.seq < held.seq) this.backwards.push(`${row.topic}: seq ${held.seq} then ${row.seq}`);
        this.held.set(row.topic, row);
      }
      this.samples++;
      await this.page.waitForTimeout(SAMPLE_MS);
    }
  }
}

test('restarting the gateway process: the page shows reconnecting, then live, and its rows carry on with no repeated or backwards seq', async (t) => {
  const fabric = new Fabric({ TICKFAN_FEEDS_SIMULATED_RATE: '2000' });
  const browser = await launchChromium();
  t.teardown(async () => {
    await browser.close();
    fabric.kill();
  });
  await fabric.start('proxy,snapshot,feed');
  const first = await startGateway(fabric);
  const port = Number(new URL(first.url).port);
  const { page, errors } = await openTicker(browser, `http://127.0.0.1:${port}/`);
  await waitForRows(page, DEFAULT_INSTRUMENTS.length, 5_000);
  await waitForConnection(page, 'live', 5_000);

  const sampler = new SeqSampler(page);
  t.teardown(() => sampler.stop());
  await sampler.sampledOnce();
  const before = await rows(page);
  // SIGINT, the quick stop (1001): after SIGTERM's drain (1012) the page reconnects after a delay
  // drawn from [0, b], often shorter than reading the badge takes. Draining is tested in
  // test/integration/drain.test.ts; this test is the page across a restart.
  t.is((await first.gateway.stop('SIGINT')).code, 0, 'the gateway exits 0 on SIGINT');
  // The state and its text checked in one step in the page: reading the text after the wait can
  // find the next state already, when the reconnect delay is short and the machine busy.
  const shown = await page.waitForFunction(
    () => {
      const badge = (globalThis as unknown as PageGlobals).document.querySelector('#connection');
      return badge?.dataset.state === 'reconnecting' && badge.textContent;
    },
    undefined, { timeout: 5_000, polling: 'raf' },
  );
  t.regex(String(await shown.jsonValue()), /^reconnecting in [\d.]+ (ms|s)$/);

  const second = await startGateway(fabric, port);
  t.is(second.url, first.url, 'the gateway is back on the same port');
  await waitForConnection(page, 'live', 15_000);
  await sampler.passed(before);
  await sampler.stop();

  t.log(`${sampler.samples} samples of the rows, from before the restart to after it`);
  t.deepEqual(sampler.backwards, [], 'no row\'s seq went backwards');
  t.is(await boardAttribute(page, 'seq-violations'), '0', 'no update repeated or went back a seq (the page checks each one)');
  const after = await rows(page);
  t.deepEqual(after.map((row) => row.topic), before.map((row) => row.topic), 'the same rows, none duplicated');
  t.deepEqual(after.map((row) => row.epoch), before.map((row) => row.epoch), 'the feed did not restart: same epochs');
  // Chromium reports each refused connection attempt while the gateway is away; nothing else.
  t.deepEqual(errors.filter((text) => !/WebSocket connection to '.*' failed/.test(text)), []);
});
