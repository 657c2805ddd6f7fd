import type convict from 'convict';
import { HWM_DOC, integerIn, ZMQ_ENDPOINT } from '../config/index.js';
import { PROXY_MODES, type ProxyMode } from './proxy.js';

export interface ProxySettings {
  readonly frontend: string;
  readonly backend: string;
  readonly frontendHwm: number;
  readonly backendHwm: number;
  readonly mode: ProxyMode;
}

/** The proxy's keys of the configuration (proxy.*). */
export const proxySchema: convict.Schema<{ proxy: ProxySettings }> = {
  proxy: {
    frontend: { doc: 'Where the proxy binds its XSUB frontend; feeds connect here.', format: ZMQ_ENDPOINT, default: 'tcp://127.0.0.1:5555' },
    backend: { doc: 'Where the proxy binds its XPUB backend; subscribers connect here.', format: ZMQ_ENDPOINT, default: 'tcp://127.0.0.1:5556' },
    frontendHwm: { doc: `Receive high-water mark of the frontend, ${HWM_DOC}.`, format: integerIn(1, 10_000_000), default: 200_000 },
    backendHwm: { doc: `Send high-water mark per subscriber on the backend, ${HWM_DOC}.`, format: integerIn(1, 10_000_000), default: 200_000 },
    mode: {
      doc: 'native: libzmq forwards on a worker thread (fastest); js: a JavaScript loop that counts messages. See docs/architecture.md.',
      format: [...PROXY_MODES], default: 'native',
    },
  },
};

/** Why the proxy's settings cannot work together, or undefined. */
export function proxySettingsProblem({ proxy }: { readonly proxy: ProxySettings }): string | undefined {
  // Two `:*` endpoints are fine: each gets its own free port.
  if (proxy.frontend === proxy.backend && !proxy.frontend.endsWith(':*')) {
    return `proxy.frontend and proxy.backend are both ${proxy.frontend}: they must differ`;
  }
  return undefined;
}
