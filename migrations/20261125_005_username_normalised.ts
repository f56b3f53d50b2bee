import type { Knex } from 'knex';

import { normaliseUsername } from '../src/store/username.ts';

/**
 * Usernames are unique, and found at login, by one normalisation computed in JavaScript
 * (`normaliseUsername`: NFKC, lower case) and stored beside the name. The index on Postgres'
 * `lower(username)` goes: it folded only ASCII under the C locale, so it and the lockout
 * counters disagreed about which names are one.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.text('username_normalised');
  });
  const users = (await knex('users').select('id', 'username')) as Array<{ id: string; username: string }>;
  const byName = new Map<string, string[]>();
  for (const user of users) {
    const normalised = normaliseUsername(user.username);
    byName.set(normalised, [...(byName.get(normalised) ?? []), user.username]);
    await knex('users').where({ id: user.id }).update({ username_normalised: normalised });
  }
  // Names that were distinct under lower() but are one now (full-width letters, say) need a
  // person to decide which employee keeps the name; say which, rather than fail on the index.
  const clashes = [...byName.values()].filter((names) => names.length > 1);
  if (clashes.length) {
    throw new Error(`usernames that are now the same name: ${clashes.map((names) => names.map((name) => JSON.stringify(name)).join(' = ')).join('; ')}; rename all but one and migrate again`);
  }
  await knex.schema.alterTable('users', (t) => {
    t.dropNullable('username_normalised');
    t.unique(['username_normalised'], { indexName: 'users_username_normalised_idx' });
  });
  await knex.raw('DROP INDEX users_username_lower_idx');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('CREATE UNIQUE INDEX users_username_lower_idx ON users (lower(username))');
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('username_normalised');
  });
}
