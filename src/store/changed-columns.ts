import type { Knex } from 'knex';

/**
 * The columns an update writes: those of the fields `changes` sets (a field left undefined is
 * left as it is; null is written), named by `columns`, and `updated_at`.
 */
export function changedColumns<T extends object>(db: Knex, changes: T, columns: { readonly [K in keyof Required<T>]: string }): Record<string, unknown> {
  const row: Record<string, unknown> = { updated_at: db.fn.now() };
  for (const field of Object.keys(columns) as Array<keyof T>) {
    if (changes[field] !== undefined) row[columns[field]] = changes[field];
  }
  return row;
}
