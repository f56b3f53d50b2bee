import type { Knex } from 'knex';

/** Users, relying parties, signing keys, oidc-provider's durable models and the audit log. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.text('username').notNullable();
    t.text('display_name');
    t.text('email');
    t.text('status').notNullable().defaultTo('active').checkIn(['active', 'locked'], 'users_status_check');
    t.text('password_hash');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // Usernames are unique without regard to case: "Anna" and "anna" are one employee.
  await knex.raw('CREATE UNIQUE INDEX users_username_lower_idx ON users (lower(username))');

  await knex.schema.createTable('oidc_clients', (t) => {
    t.text('client_id').primary();
    t.jsonb('metadata').notNullable();
    t.text('client_secret_sealed');
    t.text('level').notNullable().defaultTo('low');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('signing_keys', (t) => {
    t.text('kid').primary();
    t.text('alg').notNullable();
    t.jsonb('public_jwk').notNullable();
    t.text('private_jwk_sealed').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Set when a newer key took over signing; the key stays published until `unpublish_at`.
    t.timestamp('retired_at', { useTz: true });
    t.timestamp('unpublish_at', { useTz: true });
  });

  await knex.schema.createTable('oidc_payloads', (t) => {
    t.text('model').notNullable();
    t.text('id').notNullable();
    t.jsonb('payload').notNullable();
    t.text('grant_id');
    t.text('user_code');
    t.text('uid');
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('consumed_at', { useTz: true });
    t.primary(['model', 'id']);
    t.index(['grant_id']);
    t.index(['model', 'uid']);
    t.index(['model', 'user_code']);
    t.index(['expires_at']);
  });

  await knex.schema.createTable('audit_events', (t) => {
    t.bigIncrements('id');
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('type').notNullable();
    t.text('actor');
    t.uuid('user_id');
    t.text('username');
    t.text('client_id');
    t.text('ip');
    t.text('request_id');
    t.jsonb('details').notNullable().defaultTo('{}');
    t.index(['occurred_at']);
    t.index(['user_id', 'occurred_at']);
    t.index(['type', 'occurred_at']);
  });
  // Evidence is append-only: the database itself refuses to change or remove an event.
  await knex.raw(`
    CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_events is append-only';
    END
    $$`);
  await knex.raw(`
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_events');
  await knex.raw('DROP FUNCTION audit_events_append_only()');
  await knex.schema.dropTable('oidc_payloads');
  await knex.schema.dropTable('signing_keys');
  await knex.schema.dropTable('oidc_clients');
  await knex.schema.dropTable('users');
}
