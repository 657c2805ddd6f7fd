import type convict from 'convict';
import { checkedFormat, HWM_DOC, integerIn, isZmqEndpoint, splitList, ZMQ_ENDPOINT } from '../config/index.js';
import { tcpHostPort } from './endpoint.js';
import { PROXY_MODES, type ProxyMode } from './proxy.js';

export interface ProxySettings {
  readonly frontend: string;
  readonly backend: string;
  readonly upstream: readonly string[];
  readonly frontendHwm: number;
  readonly backendHwm: number;
  readonly mode: ProxyMode;
}

/** A `*` host or port says "any" to bind; there is nothing to connect to. */
const WILDCARD_TCP = /^tcp:\/\/(\*:|.*:\*$)/;

function upstreamListProblem(value: unknown): string | undefined {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && isZmqEndpoint(v))) {
    return 'must be a list of ZeroMQ endpoints (empty for none)';
  }
  const wildcard = value.find((endpoint: string) => WILDCARD_TCP.test(endpoint));
  if (wildcard !== undefined) return `${wildcard} has a * host or port, which can be bound but not connected to`;
  const repeated = value.find((endpoint, i) => value.indexOf(endpoint) !== i);
  // Connected twice, the XSUB would receive (and forward) every upstream message twice.
  if (repeated !== undefined) return `lists ${repeated} twice`;
  return undefined;
}

/** The proxy's keys of the configuration (proxy.*). */
export const proxySchema: convict.Schema<{ proxy: ProxySettings }> = {
  proxy: {
    frontend: { doc: 'Where the proxy binds its XSUB frontend; feeds connect here.', format: ZMQ_ENDPOINT, default: 'tcp://127.0.0.1:5555' },
    backend: { doc: 'Where the proxy binds its XPUB backend; subscribers connect here.', format: ZMQ_ENDPOINT, default: 'tcp://127.0.0.1:5556' },
    upstream: {
      doc: 'Backends (XPUB) of upstream proxies this proxy\'s XSUB connects to, comma-separated, so sites form a tree: it receives only what its own subscribers want. It still binds proxy.frontend for local feeds. One upstream per A/B line: chained to both roots it forwards every message twice. See docs/architecture.md.',
      format: checkedFormat(`list of ${ZMQ_ENDPOINT}, or empty`, upstreamListProblem, (value) => (value.trim() === '' ? [] : splitList(value))),
      default: [],
    },
    frontendHwm: { doc: `Receive high-water mark of the frontend, ${HWM_DOC}.`, format: integerIn(1, 10_000_000), default: 200_000 },
    backendHwm: { doc: `Send high-water mark per subscriber on the backend, ${HWM_DOC}.`, format: integerIn(1, 10_000_000), default: 200_000 },
    mode: {
      doc: 'native: libzmq forwards on a worker thread (the cheapest when the proxy runs alone); js: a JavaScript loop that counts messages and hands them to the snapshot service and gateway of its own process without a socket; auto: js when the process runs either of those (the all-in-one), native otherwise. See docs/architecture.md.',
      format: [...PROXY_MODES], default: 'auto',
    },
  },
};

/** Why the proxy's settings cannot work together, or undefined. */
export function proxySettingsProblem({ proxy }: { readonly proxy: ProxySettings }): string | undefined {
  // Two `:*` endpoints are fine: each gets its own free port.
  if (proxy.frontend === proxy.backend && !proxy.frontend.endsWith(':*')) {
    return `proxy.frontend and proxy.backend are both ${proxy.frontend}: they must differ`;
  }
  for (const upstream of proxy.upstream) {
    if (sameLocalEndpoint(upstream, proxy.backend)) {
      return `proxy.upstream lists ${upstream}, this proxy's own backend (proxy.backend ${proxy.backend}): chained to itself it would forward every message back into itself forever`;
    }
    if (sameLocalEndpoint(upstream, proxy.frontend)) {
      return `proxy.upstream lists ${upstream}, this proxy's own frontend (proxy.frontend ${proxy.frontend}): an upstream is another proxy's backend (XPUB)`;
    }
  }
  return undefined;
}

const LOOPBACK_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;
const ANY_HOST = /^(\*|0\.0\.0\.0|\[::\])$/;

/**
 * Whether connecting to `target` reaches the socket bound at `bound` on this host: the same
 * endpoint, or a loopback address on the port of a loopback or any-interface bind. Another of
 * this host's own addresses cannot be told from a remote one without asking the interfaces, and
 * a loop through other proxies (A up to B up to A) cannot be seen from one proxy's settings at all.
 */
function sameLocalEndpoint(target: string, bound: string): boolean {
  if (target === bound) return true;
  const to = tcpHostPort(target);
  const at = tcpHostPort(bound);
  if (to === undefined || at === undefined || to.port !== at.port || at.port === '*' || !LOOPBACK_HOST.test(to.host)) return false;
  return ANY_HOST.test(at.host) || loopbackAddress(to.host) === loopbackAddress(at.host);
}

function loopbackAddress(host: string): string {
  return host === 'localhost' ? '127.0.0.1' : host;
}
