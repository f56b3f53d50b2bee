import type { Knex } from 'knex';

/**
 * Second factors that show a time-based code: code viewers ("kodeviser", hardware tokens in the
 * municipality's inventory, known by a 13-digit serial) and authenticator apps. One table, since
 * both are verified the same way (RFC 6238) and carry the same drift, replay and lock state.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('totp_tokens', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('kind').notNullable().checkIn(['code_viewer', 'authenticator'], 'totp_tokens_kind_check');
    t.text('serial').unique();
    t.text('secret_sealed').notNullable();
    t.text('algorithm').notNullable().checkIn(['SHA1', 'SHA256', 'SHA512'], 'totp_tokens_algorithm_check');
    t.integer('digits').notNullable().checkIn(['6', '8'], 'totp_tokens_digits_check');
    t.integer('period').notNullable().checkIn(['30', '60'], 'totp_tokens_period_check');
    t.text('status').notNullable()
      .checkIn(['in_stock', 'pending', 'assigned', 'locked', 'lost', 'defective'], 'totp_tokens_status_check');
    t.uuid('user_id').references('users.id').onDelete('SET NULL');
    t.text('name');
    // Steps the token's clock runs ahead (+) or behind (-), as last measured.
    t.integer('drift').notNullable().defaultTo(0);
    // The last time step accepted: no code for it or an earlier one is accepted again.
    t.integer('last_step');
    t.integer('failure_count').notNullable().defaultTo(0);
    t.integer('lock_count').notNullable().defaultTo(0);
    t.timestamp('locked_until', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('assigned_at', { useTz: true });
    t.timestamp('last_used_at', { useTz: true });
    t.index(['user_id']);
    t.index(['status']);
  });
  await knex.raw(`ALTER TABLE totp_tokens ADD CONSTRAINT totp_tokens_serial_check
    CHECK (kind <> 'code_viewer' OR serial ~ '^[0-9]{13}$')`);
  await knex.raw(`ALTER TABLE totp_tokens ADD CONSTRAINT totp_tokens_owner_check
    CHECK (status NOT IN ('pending', 'assigned', 'locked') OR user_id IS NOT NULL)`);

  // How long each factor counts in an SSO session, per relying party (null: the IdP's default).
  await knex.schema.alterTable('oidc_clients', (t) => {
    t.integer('password_max_age_seconds');
    t.integer('second_factor_max_age_seconds');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('oidc_clients', (t) => {
    t.dropColumn('password_max_age_seconds');
    t.dropColumn('second_factor_max_age_seconds');
  });
  await knex.schema.dropTable('totp_tokens');
}
