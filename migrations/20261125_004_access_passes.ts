import type { Knex } from 'knex';

/**
 * Temporary access passes: what IT gives an employee who has no second factor (a newcomer, or a
 * colleague whose only device was reset), so a stolen password alone cannot add one. Only a
 * keyed hash of the pass is kept; a pass is used once, expires, and is revoked after too many
 * wrong tries or when IT issues the next one.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('access_passes', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('pass_hash').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.integer('failure_count').notNullable().defaultTo(0);
    t.text('created_by').notNullable();
    t.index(['user_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('access_passes');
}
