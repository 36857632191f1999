import type net from 'node:net';

/**
 * Pipes a client socket to its upstream both ways, tracking both in `sockets` while they are open;
 * an error on either side closes both (test proxies).
 */
export function splice(client: net.Socket, upstream: net.Socket, sockets: Set<net.Socket>): void {
  for (const s of [client, upstream]) {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {
      client.destroy();
      upstream.destroy();
    });
  }
  client.pipe(upstream);
  upstream.pipe(client);
}
