import net from 'node:net';
import { RespParser, type Reply } from '../../../shared/src/redis/resp';
import { StateReader } from '../../../shared/src/redis/state-reader';

/**
 * What the state reader does when a server breaks the protocol: a TCP server of the test's own
 * that answers the handshake as Redis does, then each MGET with what `answer` returns (raw RESP).
 * Such answers cannot be provoked from a real Redis; the reader's normal work is tested against
 * one in test/integration/redis/state-reader.test.ts.
 */
let server: net.Server;
let port: number;
let connections = 0;
let answer: (args: string[]) => string;
beforeAll(async () => {
  server = net.createServer((socket) => {
    connections++;
    const parser = new RespParser();
    socket.on('data', (chunk) =>
      parser.feed(chunk, (reply: Reply) => {
        const args = reply as string[];
        if (args[0] === 'INFO') socket.write('$15\r\nrun_id:abc123\r\n\r\n');
        else if (args[0] === 'CLIENT') socket.write('+OK\r\n');
        else socket.write(answer(args));
      }),
    );
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

async function connectedReader(): Promise<StateReader> {
  const reader = new StateReader(`redis://127.0.0.1:${port}`);
  expect(await reader.whenConnected()).toBe(true);
  expect(reader.runId).toBe('abc123');
  return reader;
}

it('an MGET answered with anything but one value per key fails, and the connection is dropped with every read on it', async () => {
  const reader = await connectedReader();
  try {
    const before = connections;
    answer = (args) => (args[1] === 'bad' ? ':1\r\n' : `*${args.length - 1}\r\n${args.slice(1).map(() => '$1\r\nv\r\n').join('')}`);
    expect(await reader.mget(['a', 'b'])).toEqual(['v', 'v']);
    const reads = await Promise.allSettled([reader.mget(['bad']), reader.mget(['c'])]);
    expect(String((reads[0] as PromiseRejectedResult).reason)).toMatch(/one value per key/);
    expect(reads[1]!.status).toBe('rejected');
    expect(reader.runId).toBeUndefined();
    expect(await reader.whenConnected()).toBe(true);
    expect(connections).toBe(before + 1);
    expect(await reader.mget(['d'])).toEqual(['v']);
  } finally {
    reader.close();
  }
});

it('a reply nobody asked for, or a broken one, drops the connection instead of being matched to a read', async () => {
  for (const extra of ['+OK\r\n', '?\r\n']) {
    const reader = await connectedReader();
    try {
      answer = () => `*1\r\n$1\r\nv\r\n${extra}`;
      const reads = await Promise.allSettled([reader.mget(['a']), reader.mget(['b'])]);
      expect(reads[0]).toEqual({ status: 'fulfilled', value: ['v'] });
      expect(reader.runId).toBeUndefined();
      expect(reads[1]!.status).toBe('rejected');
    } finally {
      reader.close();
    }
  }
});
