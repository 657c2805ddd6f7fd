import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The live ticker page (src/page/, bundled into dist/page/ by `npm run build`). Both this
 * module's source (src/gateway/) and its build (dist/gateway/) sit two levels below the
 * package root, so the same relative path finds the bundle either way.
 */
export const PAGE_DIR = new URL('../../dist/page/', import.meta.url);

export interface PageOptions {
  /** gateway.publicBaseUrl: when set, the page resolves its files and v1/ws against it (a `<base href>`). */
  readonly publicBaseUrl: string;
  /** Where the built page is; default PAGE_DIR. */
  readonly dir?: URL;
}

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

const FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'ticker.js': 'text/javascript; charset=utf-8',
  'ticker.css': 'text/css; charset=utf-8',
};

/** Request paths of the page's files; the page refers to them relatively, so a proxy prefix is transparent. */
const ROUTES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/ticker.js': 'ticker.js',
  '/ticker.css': 'ticker.css',
};

/**
 * The page's Content-Security-Policy: it runs its own bundle and stylesheet and talks only
 * to its gateway, so an injected script or style (say, a hostile venue or symbol name that
 * escaped the page's text rendering) cannot run, load anything or send data elsewhere.
 * With an absolute gateway.publicBaseUrl the page's files and WebSocket live at that origin,
 * which the policy then names too; with any base URL set, `<base href>` is that URL.
 */
export function contentSecurityPolicy(publicBaseUrl: string): string {
  // An absolute URL (publicBaseUrl is validated: empty, an http(s) URL or an absolute path).
  const elsewhere = URL.canParse(publicBaseUrl) ? new URL(publicBaseUrl).origin : undefined;
  const sources = (...extra: string[]): string => ["'self'", ...(elsewhere === undefined ? [] : [elsewhere]), ...extra].join(' ');
  const socketOrigin = elsewhere?.replace(/^http/, 'ws');
  return [
    "default-src 'self'",
    `script-src ${sources()}`,
    `style-src ${sources()}`,
    `connect-src ${sources(...(socketOrigin === undefined ? [] : [socketOrigin]))}`,
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    `base-uri ${publicBaseUrl === '' ? "'none'" : elsewhere ?? "'self'"}`,
    "form-action 'none'",
  ].join('; ');
}

/** Headers of every response of the page's handler (files and refusals alike). */
export function securityHeaders(publicBaseUrl: string): Readonly<Record<string, string>> {
  return {
    'content-security-policy': contentSecurityPolicy(publicBaseUrl),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
  };
}

/**
 * An HTTP handler serving the ticker page's files from memory (read once, on first use);
 * anything else is 404. The WebSocket endpoint is served by the upgrade handler, not here.
 */
export function pageHandler(options: PageOptions): (req: IncomingMessage, res: ServerResponse) => void {
  let assets: Promise<Map<string, Asset>> | undefined;
  const headers = securityHeaders(options.publicBaseUrl);
  return (req, res) => {
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    const file = ROUTES[new URL(req.url ?? '/', 'http://x').pathname];
    if (file === undefined) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return void res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('method not allowed\n');
    }
    assets ??= loadAssets(options);
    assets.then(
      (loaded) => {
        const { type, body } = loaded.get(file)!;
        res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-cache' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: Error) => {
        // Not cached: a build that finishes later is picked up by the next request.
        assets = undefined;
        res.writeHead(503, { 'content-type': 'text/plain' }).end(`the ticker page is not built (npm run build): ${err.message}\n`);
      },
    );
  };
}

async function loadAssets(options: PageOptions): Promise<Map<string, Asset>> {
  const dir = options.dir ?? PAGE_DIR;
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(FILES)) {
    const body = await readFile(new URL(name, dir));
    assets.set(name, { type, body: name === 'index.html' ? withBase(body, options.publicBaseUrl) : body });
  }
  return assets;
}

/** The page with `<base href>` set to the public base URL, so every relative URL in it (and v1/ws) resolves there. */
export function withBase(html: Buffer, publicBaseUrl: string): Buffer {
  if (publicBaseUrl === '') return html;
  const text = html.toString('utf8');
  const base = `<base href="${escapeAttribute(publicBaseUrl)}">`;
  if (!text.includes('<head>')) throw new Error('index.html has no <head> to put the base URL in');
  return Buffer.from(text.replace('<head>', `<head>\n    ${base}`), 'utf8');
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
