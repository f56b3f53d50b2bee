import type { Knex } from 'knex';

/**
 * A guess budget for enrolment (issue "Step 3 · Hardening"): wrong codes when a person binds a
 * code viewer or confirms an authenticator app are counted per person, beside the per-token
 * count that `totp_tokens` already carries (an in-stock code viewer's failure_count, lock_count
 * and locked_until count the wrong codes typed against its serial).
 *
 * The person's count lives in Postgres, not in the short-lived store: it must be read and
 * written in the same transaction as the token row it is checked with (one lock order, one
 * commit), it must hold for `stepup tokens assign` in embedded mode, where the command and the
 * server share the database but not the in-process store, and the lock history that makes each
 * lock longer must outlive any counter TTL. One row per person and kind: a successful app
 * confirmation (whose secret the person was just shown) must not wipe the count of wrong codes
 * typed against code viewers they do not hold.
 *
 * Pending apps get an expiry from the IdP's clock, so an unconfirmed app cannot be confirmed
 * later and is cleaned up.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('factor_enrolment_failures', (t) => {
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('kind').notNullable().checkIn(['code_viewer', 'authenticator'], 'factor_enrolment_failures_kind_check');
    t.integer('failure_count').notNullable().defaultTo(0);
    t.integer('lock_count').notNullable().defaultTo(0);
    t.timestamp('locked_until', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['user_id', 'kind']);
  });
  await knex.schema.alterTable('totp_tokens', (t) => {
    t.timestamp('pending_until', { useTz: true });
  });
  // Apps pending before this migration get the same quarter of an hour from their start.
  await knex('totp_tokens').where({ status: 'pending' }).update({ pending_until: knex.raw("created_at + interval '15 minutes'") });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('totp_tokens', (t) => {
    t.dropColumn('pending_until');
  });
  await knex.schema.dropTable('factor_enrolment_failures');
}
