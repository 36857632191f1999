import { benchVerify } from './verify/run';
import { benchRevocationLag } from './revocation-lag/run';
import { benchRefresh } from './refresh/run';
import { benchLogin } from './login/run';
import { benchEvents } from './events/run';
import { benchAudit } from './audit/run';

/** `npm run bench` runs every benchmark; `npm run bench -- <name>` one of them. Prints markdown. */
const BENCHES: Record<string, () => Promise<string>> = {
  verify: () => benchVerify(),
  'revocation-lag': () => benchRevocationLag(),
  refresh: () => benchRefresh(),
  login: () => benchLogin(),
  events: () => benchEvents(),
  audit: () => benchAudit(),
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const names = wanted.length ? wanted : Object.keys(BENCHES);
  for (const name of names) {
    const bench = BENCHES[name];
    if (!bench) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(BENCHES).join(', ')}`);
    process.stdout.write(`${await bench()}\n\n`);
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
