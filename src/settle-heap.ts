import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** The options of V8's `gc()` extension (src/extensions/gc-extension.cc). */
interface GcOptions {
  type: 'major';
  execution: 'sync';
  /** `last-resort` collects with V8's "reduce memory footprint" flag, which also shrinks the young generation. */
  flavor: 'last-resort';
}

/**
 * Gives back the heap that starting grew and a node at rest does not use (issue 10: ≤ 150 MB at
 * rest). Compiling the server's modules at start leaves V8 with about 64 MB of young generation
 * committed (its two semi-spaces grown to their maximum for the allocation rate of compiling),
 * which nothing shrinks while no major collection happens, and at rest none does. One collection
 * that reduces the footprint shrinks it to 1 MB; under load V8 grows it again as it needs, so
 * throughput is as before (a cap such as `--max-semi-space-size` would cost scavenges instead,
 * and would need a flag on every command line that starts a node).
 *
 * V8 hands `gc()` only to a context created while `--expose-gc` is set; it is set for that one
 * context and unset again, so no other code sees a `gc` global. Takes 150–200 ms, once, before
 * the server listens.
 */
export function settleHeap(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (options: GcOptions) => void;
  setFlagsFromString('--no-expose-gc');
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
