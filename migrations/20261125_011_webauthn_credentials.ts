import type { Knex } from 'knex';

/**
 * Security keys and passkeys (issue "Step 6", WebAuthn): one row per credential an employee
 * registered in self-service. Only the credential's public key (COSE, RFC 9053) is stored, so a
 * copy of this table gives no way to sign in. `counter` is the authenticator's signature counter
 * (WebAuthn Level 3 §6.1.1): a 32-bit unsigned number, so `bigint`. `device_type` and
 * `backed_up` are the authenticator data's BE and BS flags (§6.1): a multi-device (synced)
 * passkey's key leaves the hardware, which decides its `amr`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webauthn_credentials', (t) => {
    t.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'));
    t.uuid('user_id').notNullable().references('users.id').onDelete('CASCADE');
    // The credential id as the authenticator made it, base64url: one credential, one row.
    t.text('credential_id').notNullable().unique();
    t.binary('public_key').notNullable();
    t.bigInteger('counter').notNullable().defaultTo(0);
    t.jsonb('transports').notNullable().defaultTo('[]');
    t.text('name').notNullable();
    t.text('device_type').notNullable().checkIn(['singleDevice', 'multiDevice'], 'webauthn_credentials_device_type_check');
    t.boolean('backed_up').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_used_at', { useTz: true });
    t.index(['user_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('webauthn_credentials');
}
