import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { loadConfig, schema } from '../../src/cli/config.js';
import { ROLES } from '../../src/cli/roles.js';
import { ConfigError, renderConfigReference, settingKeys } from '../../src/config/index.js';

const repoFile = (path: string) => new URL(`../../${path}`, import.meta.url);

function tempJson(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tickfan-config-')), 'config.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function schemaDefaults(node: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(node).map(([name, child]) => {
      const leaf = child as Record<string, unknown>;
      return [name, 'default' in leaf ? leaf.default : schemaDefaults(leaf)];
    }),
  );
}

test('with no overrides the configuration is the schema defaults', (t) => {
  t.deepEqual(loadConfig({ env: {} }) as unknown, schemaDefaults(schema as unknown as Record<string, unknown>));
});

test('config/default.json states exactly the schema defaults', (t) => {
  const shipped = JSON.parse(readFileSync(repoFile('config/default.json'), 'utf8'));
  t.deepEqual(shipped, schemaDefaults(schema as unknown as Record<string, unknown>));
});

test('the README configuration reference is the one generated from the schema', (t) => {
  const readme = readFileSync(repoFile('README.md'), 'utf8');
  t.true(readme.includes(renderConfigReference(schema)), 'run `npm run docs:config` to regenerate it');
});

test('every setting has a TICKFAN_ environment variable derived from its key', (t) => {
  const byKey = new Map(settingKeys(schema).map(({ key, env }) => [key, env]));
  t.is(byKey.get('feeds.simulated.rate'), 'TICKFAN_FEEDS_SIMULATED_RATE');
  t.is(byKey.get('proxy.frontendHwm'), 'TICKFAN_PROXY_FRONTEND_HWM');
  t.is(byKey.get('log.level'), 'TICKFAN_LOG_LEVEL');
});

test('a file overrides defaults, the environment overrides the file, flags override both', (t) => {
  const file = tempJson({ feeds: { simulated: { rate: 100, seed: 7 } }, proxy: { mode: 'js' } });
  const fromFile = loadConfig({ file, env: {} });
  t.is(fromFile.feeds.simulated.rate, 100);
  t.is(fromFile.feeds.simulated.seed, 7);
  t.is(fromFile.proxy.mode, 'js');
  const withEnv = loadConfig({ file, env: { TICKFAN_FEEDS_SIMULATED_RATE: '250', TICKFAN_ROLES: 'proxy,feed' } });
  t.is(withEnv.feeds.simulated.rate, 250);
  const withFlags = loadConfig({ file, env: { TICKFAN_ROLES: 'proxy,feed' }, overrides: { roles: ['proxy'] } });
  t.deepEqual(withFlags.roles, ['proxy']);
});

test('environment strings are converted to the setting type', (t) => {
  const config = loadConfig({
    env: {
      TICKFAN_FEEDS_SIMULATED_SEED: '42',
      TICKFAN_FEEDS_SIMULATED_ENABLED: 'true',
      TICKFAN_FEEDS_SIMULATED_INSTRUMENTS: '[{"venue":"V","symbol":"X","tickSize":0.5,"startPrice":10,"lotSize":1}]',
      TICKFAN_PROXY_FRONTEND: 'ipc:///tmp/tickfan-frontend',
    },
  });
  t.is(config.feeds.simulated.seed, 42);
  t.is(config.feeds.simulated.enabled, true);
  t.is(config.feeds.simulated.instruments[0]?.symbol, 'X');
  t.is(config.proxy.frontend, 'ipc:///tmp/tickfan-frontend');
});

test('proxy.upstream comes from the environment comma-separated; empty is no upstream', (t) => {
  const two = loadConfig({ env: { TICKFAN_PROXY_UPSTREAM: 'tcp://root-a:5556, tcp://10.0.0.2:5556' } });
  t.deepEqual(two.proxy.upstream, ['tcp://root-a:5556', 'tcp://10.0.0.2:5556']);
  t.deepEqual(loadConfig({ env: { TICKFAN_PROXY_UPSTREAM: '' } }).proxy.upstream, []);
  // The same port on another host is another proxy, not this one's backend.
  t.deepEqual(loadConfig({ env: { TICKFAN_PROXY_UPSTREAM: 'tcp://127.0.0.2:5556' } }).proxy.upstream, ['tcp://127.0.0.2:5556']);
});

/** Each bad input, and the parts its one-line error must contain: the key, the value, what is allowed. */
const refusals: [title: string, options: Parameters<typeof loadConfig>[0], mustSay: string[]][] = [
  ['a number with trailing garbage', { env: { TICKFAN_FEEDS_SIMULATED_RATE: '12abc' } }, ['feeds.simulated.rate', '"12abc"', 'integer from 1 to 1000000']],
  ['a zero rate', { env: { TICKFAN_FEEDS_SIMULATED_RATE: '0' } }, ['feeds.simulated.rate', 'got 0', 'from 1']],
  ['an unbounded high-water mark', { file: tempJson({ proxy: { frontendHwm: 0 } }) }, ['proxy.frontendHwm', 'got 0', 'from 1']],
  ['an unknown key in the file', { file: tempJson({ proxy: { frontendHWM: 5 } }) }, ['proxy.frontendHWM', 'unknown setting']],
  ['an unknown TICKFAN_ variable', { env: { TICKFAN_FEED_RATE: '5' } }, ['TICKFAN_FEED_RATE', 'not a tickfan setting']],
  ['a bad enum', { env: { TICKFAN_PROXY_MODE: 'fast' } }, ['proxy.mode', '"fast"', 'native', 'js']],
  ['a bad boolean', { env: { TICKFAN_FEEDS_SIMULATED_ENABLED: 'yes' } }, ['feeds.simulated.enabled', '"yes"', 'true or false']],
  ['a port out of range', { env: { TICKFAN_PROXY_BACKEND: 'tcp://127.0.0.1:70000' } }, ['proxy.backend', '70000', 'tcp://HOST:PORT']],
  ['an unknown role', { env: { TICKFAN_ROLES: 'proxy,router' } }, ['roles', 'router', ROLES.join(', ')]],
  ['an instrument with a dotted venue', { env: { TICKFAN_FEEDS_SIMULATED_INSTRUMENTS: '[{"venue":"A.B","symbol":"X","tickSize":1,"startPrice":1,"lotSize":1}]' } }, ['feeds.simulated.instruments', 'tick.A.B.X', 'venue "A.B"']],
  ['a duplicated instrument', { env: { TICKFAN_FEEDS_SIMULATED_INSTRUMENTS: JSON.stringify([1, 2].map(() => ({ venue: 'V', symbol: 'X', tickSize: 1, startPrice: 1, lotSize: 1 }))) } }, ['feeds.simulated.instruments', 'unique (venue, symbol)']],
  ['a zero tick size', { env: { TICKFAN_FEEDS_SIMULATED_INSTRUMENTS: '[{"venue":"V","symbol":"X","tickSize":0,"startPrice":1,"lotSize":1}]' } }, ['instrument 0', 'tickSize 0', '> 0']],
  ['frontend and backend on one endpoint', { env: { TICKFAN_PROXY_BACKEND: 'tcp://127.0.0.1:5555' } }, ['proxy.frontend', 'proxy.backend', 'must differ']],
  ['a proxy chained to its own backend', { env: { TICKFAN_PROXY_UPSTREAM: 'tcp://10.0.0.1:5556,tcp://127.0.0.1:5556' } }, ['proxy.upstream', 'tcp://127.0.0.1:5556', 'own backend', 'proxy.backend']],
  ['a proxy chained to its own backend by another loopback name', { env: { TICKFAN_PROXY_BACKEND: 'tcp://0.0.0.0:5556', TICKFAN_PROXY_UPSTREAM: 'tcp://localhost:5556' } }, ['proxy.upstream', 'tcp://localhost:5556', 'own backend']],
  ['a proxy chained to its own frontend', { env: { TICKFAN_PROXY_UPSTREAM: 'tcp://localhost:5555' } }, ['proxy.upstream', 'own frontend', 'proxy.frontend']],
  ['an upstream listed twice', { env: { TICKFAN_PROXY_UPSTREAM: 'tcp://10.0.0.1:5556, tcp://10.0.0.1:5556' } }, ['proxy.upstream', 'tcp://10.0.0.1:5556 twice']],
  ['an upstream with a wildcard port', { env: { TICKFAN_PROXY_UPSTREAM: 'tcp://10.0.0.1:*' } }, ['proxy.upstream', 'tcp://10.0.0.1:*', 'not connected to']],
  ['an upstream that is no endpoint', { env: { TICKFAN_PROXY_UPSTREAM: 'root-a:5556' } }, ['proxy.upstream', '"root-a:5556"', 'ZeroMQ endpoints']],
  ['two exchange adapters on one venue', { env: { TICKFAN_FEEDS_COINBASE_ENABLED: 'true', TICKFAN_FEEDS_BINANCE_ENABLED: 'true', TICKFAN_FEEDS_BINANCE_VENUE: 'COINBASE' } }, ['feeds.coinbase.venue', 'feeds.binance.venue', 'COINBASE']],
  ['the feed role with every feed disabled', { env: { TICKFAN_FEEDS_SIMULATED_ENABLED: 'false', TICKFAN_FEEDS_INGEST_ENABLED: 'false' } }, ['roles includes feed', 'feeds.simulated.enabled']],
  ['a missing config file', { file: '/nonexistent/tickfan.json' }, ['/nonexistent/tickfan.json', 'cannot read']],
  ['a config file that is not JSON', { file: tempJson('{"proxy": ') }, ['not valid JSON']],
];

for (const [title, options, mustSay] of refusals) {
  test(`refuses ${title} with one line naming it`, (t) => {
    const err = t.throws(() => loadConfig({ env: {}, ...options }), { instanceOf: ConfigError });
    t.false(err!.message.includes('\n'), err!.message);
    for (const part of mustSay) t.true(err!.message.includes(part), `"${err!.message}" should mention ${part}`);
  });
}
