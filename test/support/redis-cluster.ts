import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './private-redis';

const run = promisify(execFile);

/** One master of a LocalRedisCluster: its own port and folder (nodes.conf, dump.rdb). */
export class ClusterNodeProcess {
  private child?: ChildProcess;
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-cluster-'));
  constructor(readonly port: number) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts redis-server in cluster mode; it loads nodes.conf and dump.rdb from its folder. */
  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      [
        '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir,
        '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000',
        '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction',
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 100; i++) {
      if (await this.cli('PING').then((r) => r === 'PONG', () => false)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`cluster node ${this.address} did not start`);
  }

  /** Writes a snapshot now (an operator's backup of this master). */
  async snapshot(): Promise<void> {
    await this.cli('SAVE');
  }

  /** Stops the server without saving (SIGKILL): what it held since the last snapshot is lost. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async cli(...args: string[]): Promise<string> {
    const { stdout } = await run('redis-cli', ['-p', String(this.port), ...args], { encoding: 'utf8', timeout: 5_000 });
    return stdout.trim();
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A real Redis Cluster on loopback ports, from the machine's redis-server and redis-cli: N masters
 * (no replicas) in temporary folders, joined with `redis-cli --cluster create`. Used by the cluster
 * test mode (`npm run test:cluster`), the cluster fault tests and the cluster benchmark.
 */
export class LocalRedisCluster {
  private constructor(readonly nodes: ClusterNodeProcess[]) {}

  static async start(masters = 3): Promise<LocalRedisCluster> {
    const ports: number[] = [];
    while (ports.length < masters) {
      const port = await freePort();
      // The cluster bus listens on port + 10000: both must be free and below 65536.
      if (port <= 55_535 && !ports.includes(port)) ports.push(port);
    }
    const cluster = new LocalRedisCluster(ports.map((p) => new ClusterNodeProcess(p)));
    try {
      await Promise.all(cluster.nodes.map((n) => n.start()));
      await run('redis-cli', ['--cluster', 'create', ...cluster.nodes.map((n) => n.address), '--cluster-replicas', '0', '--cluster-yes'], {
        timeout: 30_000,
      });
      await cluster.waitHealthy();
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  /** The URL Latchkey is configured with (REDIS_URL / TEST_REDIS_URL / BENCH_REDIS_URL). */
  get url(): string {
    return `redis+cluster://${this.nodes.map((n) => n.address).join(',')}`;
  }

  /** Waits until every master reports `cluster_state:ok` and knows all the others. */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const infos = await Promise.all(this.nodes.map((n) => n.cli('CLUSTER', 'INFO').catch(() => '')));
      if (infos.every((i) => /cluster_state:ok/.test(i) && new RegExp(`cluster_known_nodes:${this.nodes.length}\\b`).test(i))) return;
      if (Date.now() > deadline) throw new Error(`redis cluster not healthy:\n${infos.join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The node that serves `key`'s slot. */
  async nodeOf(key: string): Promise<ClusterNodeProcess> {
    const slot = Number(await this.nodes[0]!.cli('CLUSTER', 'KEYSLOT', key));
    const owner = (await this.slotRanges()).find((r) => slot >= r.from && slot <= r.to);
    const node = this.nodes.find((n) => n.port === owner?.port);
    if (!node) throw new Error(`no master serves slot ${slot}`);
    return node;
  }

  private async slotRanges(): Promise<Array<{ from: number; to: number; port: number }>> {
    const text = await this.nodes[0]!.cli('CLUSTER', 'NODES');
    return text.split('\n').flatMap((line) => {
      const fields = line.split(' ');
      const port = Number(/:(\d+)@/.exec(fields[1] ?? '')?.[1]);
      return fields.slice(8).flatMap((range) => {
        if (range.startsWith('[')) return [];
        const [from, to] = range.split('-').map(Number);
        return [{ from: from!, to: to ?? from!, port }];
      });
    });
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.destroy()));
  }
}
