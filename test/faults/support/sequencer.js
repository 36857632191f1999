const Sequencer = require('@jest/test-sequencer').default;

/** Name order: the fault files first, `zz-log-scan.test.ts` (G7) last, over what they captured. */
class ByName extends Sequencer {
  sort(tests) {
    return [...tests].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}

module.exports = ByName;
