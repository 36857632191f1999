import net from 'node:net';
import { splice } from './splice';

/**
 * A load balancer in miniature: one port on 127.0.0.1, each new TCP connection handed to the next
 * backend in turn. Enough to put several API processes "behind one port" in a test, as a real
 * balancer (nginx, an ingress, a cloud LB) would in production. Counts connections per backend.
 */
export class RoundRobinProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private next = 0;
  readonly connections: number[];
  port = 0;

  constructor(private readonly backends: number[]) {
    this.connections = backends.map(() => 0);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const index = this.next++ % this.backends.length;
      this.connections[index]!++;
      const upstream = net.connect(this.backends[index]!, '127.0.0.1');
      splice(client, upstream, this.sockets);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
  }
}
