import { randomUUID } from 'node:crypto';
import { COMMANDS } from '../../../services/cli/src/commands';
import { createLogger } from '../../../shared/src/logging/logger';
import { startHarness, type Harness } from '../../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

/** Runs a CLI command as `npm run cli -- <name> ...flags` does; its output lines. */
async function cli(name: string, flags: Record<string, string>): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const command = COMMANDS.find((c) => c.name === name)!;
  const code = await command.run({ config: h.config, db: h.deps.db, flags, logger: createLogger({ level: 'silent', service: 'cli' }), out: (l) => lines.push(l) });
  return { code, lines };
}

describe('service-client create', () => {
  it('prints the credential alone on its line, which then authenticates; a name is never reused', async () => {
    const name = `cli-${randomUUID().slice(0, 8)}`;
    const created = await cli('service-client create', { name, scopes: 'events:write' });
    expect(created.code).toBe(0);
    expect(created.lines).toHaveLength(1);
    expect(created.lines[0]).toMatch(/^lk_svc_[A-Za-z0-9_-]+$/);
    expect((await h.http.get(`/v1/events/${randomUUID()}`).set('Authorization', `Bearer ${created.lines[0]}`)).status).toBe(404);

    await expect(cli('service-client create', { name, scopes: 'introspect' })).rejects.toThrow(`a service client named ${name} exists already`);
    expect((await cli('service-client revoke', { name })).code).toBe(0);
    expect((await h.http.get(`/v1/events/${randomUUID()}`).set('Authorization', `Bearer ${created.lines[0]}`)).status).toBe(401);
  });
});
