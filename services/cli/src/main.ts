import { loadConfig } from '../../../shared/src/config/load-config';
import { createDatabase } from '../../../shared/src/db/connection';
import { createLogger } from '../../../shared/src/logging/logger';
import { COMMANDS, type CliContext } from './commands';

/** `npm run cli -- <group> <action> [--flag value]`: operator commands (see README). */
async function main(argv: string[]): Promise<number> {
  const positional = argv.filter((a, i) => !a.startsWith('--') && !(argv[i - 1]?.startsWith('--') && !argv[i - 1]!.includes('=')));
  const flags = parseFlags(argv);
  const name = positional.slice(0, 2).join(' ');
  const command = COMMANDS.find((c) => c.name === name) ?? COMMANDS.find((c) => c.name === positional[0]);
  if (!command) {
    process.stderr.write(`usage: npm run cli -- <command>\n${COMMANDS.map((c) => `  ${c.name.padEnd(22)} ${c.help}`).join('\n')}\n`);
    return 2;
  }
  const config = loadConfig(process.env);
  const db = createDatabase(config, 2);
  const ctx: CliContext = { config, db, flags, logger: createLogger({ level: 'warn', service: 'cli' }), out: (line) => process.stdout.write(`${line}\n`) };
  try {
    return await command.run(ctx);
  } finally {
    await db.close();
  }
}

function parseFlags(argv: string[]): Record<string, string | true> {
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) continue;
    const [key, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    if (inline !== undefined) flags[key] = inline;
    else if (argv[i + 1] && !argv[i + 1]!.startsWith('--')) flags[key] = argv[++i]!;
    else flags[key] = true;
  }
  return flags;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
