import type { Knex } from 'knex';

import { migrateToLatest } from '../../store/migrations.ts';
import type { Output } from '../output.ts';

export interface MigrateResult {
  /** Names of the migrations this run applied, in order; empty when the schema was current. */
  applied: string[];
}

/**
 * Brings the schema up to date (`stepup migrate`). Safe to run again, and from several nodes at
 * once: knex takes a lock, and a run with nothing to do changes nothing.
 */
export async function migrate(deps: { db: Knex }, out: Output): Promise<MigrateResult> {
  const applied = await migrateToLatest(deps.db);
  if (applied.length === 0) out.line('The schema is current; nothing to apply.');
  else for (const name of applied) out.line(`applied ${name}`);
  return { applied };
}
