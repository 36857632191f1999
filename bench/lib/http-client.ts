import http from 'node:http';

/** An answer read to its end. */
export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What a keep-alive client can send. */
export interface HttpCall {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * A node:http client over keep-alive connections, for benchmark clients that cannot use
 * autocannon (they follow rotating cookies, or time one request at a time). On a loaded 2-core
 * machine `fetch` (undici) costs several times its CPU per request, which would count against the
 * server being measured (a probe's round trip, a load client sharing a core).
 */
export function keepAliveClient(maxSockets = 64) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  return {
    request(url: string, call: HttpCall = {}): Promise<HttpAnswer> {
      const target = new URL(url);
      const body = call.body ?? '';
      return new Promise((resolve, reject) => {
        const req = http.request(
          {
            host: target.hostname,
            port: target.port,
            path: `${target.pathname}${target.search}`,
            method: call.method ?? 'GET',
            agent,
            headers: { ...call.headers, 'content-length': String(Buffer.byteLength(body)) },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
    close(): void {
      agent.destroy();
    },
  };
}
