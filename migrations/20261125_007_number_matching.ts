import type { Knex } from 'knex';

/**
 * A relying party's own number-matching setting (issue "Step 4"): true or false overrides
 * `NUMBER_MATCHING`; null, the default for every client registered before, follows it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_clients', (t) => {
    t.boolean('number_matching').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_clients', (t) => {
    t.dropColumn('number_matching');
  });
}
