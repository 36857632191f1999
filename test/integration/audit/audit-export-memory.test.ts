import http from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { AddressInfo } from 'node:net';
import { startHarness, type Harness } from '../../support/harness';
import { serviceCredential } from '../organizations/fixtures';
import { generateAuditRecords, pools, sampleRecord } from './audit-fixtures';

jest.setTimeout(240_000);

const COUNT = 200_000;
let h: Harness;
let server: http.Server;
let reader: string;
let p: ReturnType<typeof pools>;

beforeAll(async () => {
  h = await startHarness();
  reader = await serviceCredential(['audit:read']);
  p = pools(1, 50, 500);
  const t0 = Date.now() - COUNT * 1_000;
  await generateAuditRecords(h.deps.db, COUNT, (i) => sampleRecord(i, p, new Date(t0 + i * 1_000)));
  server = http.createServer(h.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await h?.close();
});

// What the export retains is measured after a full collection: garbage awaiting V8's lazy major
// GC (which a busy 2-core machine delays) says nothing about buffering.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

it('exports 200,000 records as NDJSON with flat memory', async () => {
  gc();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  const sampler = setInterval(() => {
    gc();
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 1_000);
  const started = Date.now();
  const { bytes, lines, last } = await new Promise<{ bytes: number; lines: number; last: string }>((resolve, reject) => {
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/v1/audit-logs/export?format=ndjson&organizationId=${p.orgs[0]}`;
    http.get(url, { headers: { Authorization: `Bearer ${reader}` } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      let bytes = 0;
      let lines = 0;
      let lastChunks: Buffer[] = [];
      // Consume and drop: the client keeps nothing but a count and the last line.
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        for (let i = 0; i < chunk.length; i += 1) if (chunk[i] === 10) lines += 1;
        lastChunks = [lastChunks[lastChunks.length - 1] ?? Buffer.alloc(0), chunk];
      });
      res.on('end', () => resolve({ bytes, lines, last: Buffer.concat(lastChunks).toString('utf8').trim().split('\n').pop()! }));
      res.on('error', reject);
    }).on('error', reject);
  });
  clearInterval(sampler);
  const seconds = (Date.now() - started) / 1000;
  const rssGrowthMb = (peakRss - base.rss) / 2 ** 20;
  const heapGrowthMb = (peakHeap - base.heapUsed) / 2 ** 20;
  // eslint-disable-next-line no-console
  console.log(
    `audit export: ${lines} records, ${(bytes / 2 ** 20).toFixed(1)} MiB in ${seconds.toFixed(1)} s ` +
      `(${Math.round(lines / seconds)} records/s); RSS growth ${rssGrowthMb.toFixed(1)} MiB, heap growth ${heapGrowthMb.toFixed(1)} MiB`,
  );
  expect(lines).toBe(COUNT);
  expect(JSON.parse(last).details.n).toBe(0); // oldest last
  // The body is ~90 MiB: an export that buffered it (or its rows) would blow well past these bounds.
  expect(bytes / 2 ** 20).toBeGreaterThan(60);
  expect(heapGrowthMb).toBeLessThan(48);
  expect(rssGrowthMb).toBeLessThan(100);
});
