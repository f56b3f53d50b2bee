import type { Knex } from 'knex';

/**
 * Attributes of an employee that an upstream identity provider's claim is compared with when
 * they verify their identity in self-service (issue 9): a person UUID or a CPR-derived value.
 * Only a keyed digest of each value is kept (HMAC-SHA256 under a key derived from SECRET_KEY),
 * so the table reveals no CPR number; the comparison digests the claim the same way. The
 * e-mail address stays in `users.email`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('user_attributes', (t) => {
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.text('value_digest').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['user_id', 'name']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('user_attributes');
}
