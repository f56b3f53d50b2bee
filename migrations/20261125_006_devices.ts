import type { Knex } from 'knex';

/**
 * Devices that answer challenges (issue "Step 4"): the desktop client on a computer and the app
 * on a phone or tablet. Each holds a P-256 key pair made on the device; only the public key
 * (a JWK) is stored, so a copy of this table gives no way to act as a device. The PIN is kept
 * as an argon2id hash (OS2faktor keeps an unsalted, static-IV encryption of a SHA-256 of it);
 * the PIN counts only together with the device's key, and wrong PINs lock the device
 * (`failure_count`, `lock_count`, `locked_until`, as `totp_tokens` counts wrong codes).
 *
 * Pairing codes bind a device to an employee: IT (or later self-service) issues one to a person
 * already authenticated; only an HMAC of it is kept, it lasts 15 minutes, is bound to a kind of
 * device and is consumed once.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('pairing_codes', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('kind').notNullable().checkIn(['desktop', 'app'], 'pairing_codes_kind_check');
    t.text('code_hash').notNullable().unique();
    t.text('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('consumed_at', { useTz: true });
    t.index(['user_id']);
  });

  await knex.schema.createTable('devices', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    t.text('kind').notNullable().checkIn(['desktop', 'app'], 'devices_kind_check');
    t.text('name').notNullable();
    // The public JWK ({kty, crv, x, y}) and its RFC 7638 thumbprint: one key, one device.
    t.jsonb('public_key').notNullable();
    t.text('key_thumbprint').notNullable().unique();
    t.text('pin_hash').notNullable();
    t.text('status').notNullable().checkIn(['pending', 'active', 'locked', 'revoked'], 'devices_status_check');
    // The pairing code the device registered with; only that code pairs it.
    t.uuid('pairing_code_id').references('pairing_codes.id').onDelete('SET NULL');
    // Web Push subscription of an app (RFC 8030); used by the push step.
    t.jsonb('push_subscription');
    t.integer('failure_count').notNullable().defaultTo(0);
    t.integer('lock_count').notNullable().defaultTo(0);
    t.timestamp('locked_until', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('paired_at', { useTz: true });
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.index(['user_id']);
    t.index(['status']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('devices');
  await knex.schema.dropTable('pairing_codes');
}
