import { perTurn } from '../../../shared/src/util/per-turn';

const nextTurn = () => new Promise((r) => setImmediate(r));

it('calls made in one turn share one run, with every item in call order', async () => {
  const runs: number[][] = [];
  const add = perTurn(async (items: number[]) => void runs.push(items));
  await Promise.all([add(1), add(2, 3), add(4)]);
  expect(runs).toEqual([[1, 2, 3, 4]]);
});

it('a call made while a run is in progress waits for the next run', async () => {
  const runs: string[][] = [];
  let release!: () => void;
  const add = perTurn(async (items: string[]) => {
    runs.push(items);
    if (runs.length === 1) await new Promise<void>((r) => (release = r));
  });
  const first = add('a');
  await nextTurn(); // the first run has started and is waiting
  const second = add('b');
  await nextTurn();
  expect(runs).toEqual([['a'], ['b']]);
  release();
  await Promise.all([first, second]);
});

it("a failed run rejects every caller of its batch, and the next batch runs afresh", async () => {
  let fail = true;
  const add = perTurn(async () => {
    if (fail) throw new Error('down');
  });
  const results = await Promise.allSettled([add(1), add(2)]);
  expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  fail = false;
  await expect(add(3)).resolves.toBeUndefined();
});
