import { startCpuProfile } from './cpu-profile';

/**
 * Runs a product entry point (PROFILED_ENTRY, e.g. services/api/src/main.ts) under a V8 CPU
 * profile written to CPU_PROFILE when SIGTERM arrives. This listener is registered before the
 * entry's own, and an in-process inspector session answers synchronously, so the file is written
 * before the entry's shutdown can exit. (tsx relays only SIGINT and SIGTERM to its node child.)
 */
const writeProfile = startCpuProfile(process.env.CPU_PROFILE);
process.once('SIGTERM', () => void writeProfile());
// eslint-disable-next-line @typescript-eslint/no-require-imports
require(process.env.PROFILED_ENTRY!);
