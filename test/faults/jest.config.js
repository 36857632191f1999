/**
 * The fault suite (`npm run test:faults`): real API and worker processes, a private redis-server
 * per file, a TCP proxy in front of Postgres, real signals. Files run one at a time, in name
 * order, so the G7 log scan (`zz-log-scan.test.ts`) runs last over everything the others captured.
 */
const base = require('../../jest.config.js');

module.exports = {
  ...base,
  rootDir: '../..',
  roots: ['<rootDir>/test/faults'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: '<rootDir>/test/faults/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/faults/support/global-teardown.ts',
  testSequencer: '<rootDir>/test/faults/support/sequencer.js',
  testTimeout: 180_000,
  maxWorkers: 1,
};
