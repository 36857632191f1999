/** Jest runs TypeScript through ts-jest; jose 6 is ESM-only and is transformed too. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/test/faults/'],
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: { allowJs: true, isolatedModules: true }, diagnostics: false }],
  },
  // ESM-only packages (jose 6, otplib's @scure/@noble plugins) are transformed to CommonJS for Jest.
  transformIgnorePatterns: ['/node_modules/(?!(jose|@scure|@noble|otplib|@otplib)/)'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testTimeout: 30000,
  maxWorkers: 2,
};
