import type { Knex } from 'knex';

/**
 * An employee's default second factor (issue "Step 4"), offered first in the chooser. No foreign
 * key: factors live in two tables (`totp_tokens`, `devices`), so the id may outlive its factor;
 * the chooser's ordering ignores an id that names none of the user's factors.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.uuid('default_factor_id').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('default_factor_id');
  });
}
