/**
 * Batches the calls made during one turn of the event loop: the items of every call are handed to
 * `run` together on the next turn (setImmediate), and every caller's promise settles with that
 * one run. Under load many requests or jobs finish in the same turn, so one round trip serves
 * them all; alone, a call waits only for the current turn to end. A call made while a run is in
 * progress joins the next batch, so a run always starts after the calls it serves.
 */
export function perTurn<T>(run: (items: T[]) => Promise<void>): (...items: T[]) => Promise<void> {
  let batch: { items: T[]; done: Promise<void> } | undefined;
  return (...items) => {
    if (!batch) {
      const pending: T[] = [];
      const done = new Promise<void>((resolve, reject) =>
        setImmediate(() => {
          batch = undefined;
          run(pending).then(resolve, reject);
        }),
      );
      batch = { items: pending, done };
    }
    batch.items.push(...items);
    return batch.done;
  };
}
