import { createServer, request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';

/**
 * A reverse proxy on loopback that serves a gateway under a path prefix, the way nginx's
 * `location /prefix/ { proxy_pass http://gateway/; }` does: `/prefix/rest` (and `/prefix`
 * itself) goes to the gateway as `/rest`, WebSocket upgrades included; anything else is 404.
 */
export async function reverseProxy(prefix: string, gatewayPort: number): Promise<{ port: number; close(): Promise<void> }> {
  const root = prefix.replace(/\/$/, '');
  const upstreamPath = (req: IncomingMessage): string | undefined => {
    const url = req.url ?? '/';
    if (url === root || url.startsWith(`${root}?`)) return `/${url.slice(root.length)}`;
    return url.startsWith(`${root}/`) ? url.slice(root.length) : undefined;
  };
  const server = createServer((req, res) => {
    const path = upstreamPath(req);
    if (path === undefined) return void res.writeHead(404).end('not under the prefix\n');
    const forwarded = request({ host: '127.0.0.1', port: gatewayPort, method: req.method, path, headers: req.headers }, (upstream) => {
      res.writeHead(upstream.statusCode ?? 502, upstream.headers);
      upstream.pipe(res);
    });
    forwarded.on('error', () => res.writeHead(502).end());
    req.pipe(forwarded);
  });
  /** Upgraded connections are the server's no more: closed by close() explicitly. */
  const tunnels = new Set<Socket>();
  server.on('upgrade', (req, socket: Socket, head) => {
    const path = upstreamPath(req);
    if (path === undefined) return void socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
    const upstream = connect(gatewayPort, '127.0.0.1', () => {
      const headers = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`);
      upstream.write(`${req.method} ${path} HTTP/1.1\r\n${headers.join('')}\r\n`);
      upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    tunnels.add(socket).add(upstream);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    upstream.on('close', () => tunnels.delete(upstream));
    socket.on('close', () => tunnels.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      for (const tunnel of tunnels) tunnel.destroy();
      server.close(() => resolve());
    }),
  };
}
