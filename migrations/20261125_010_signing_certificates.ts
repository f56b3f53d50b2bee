import type { Knex } from 'knex';

/**
 * Signing keys for SAML too (issue "Step 5"): each RSA key carries a self-signed X.509
 * certificate (SAML metadata publishes keys as certificates), and a key can be published
 * before it signs (`activates_at` in the future: "rotation publishes the next certificate
 * ahead of use"). A key is current from `activates_at` until a newer key of its algorithm
 * activates; `retired_at`/`unpublish_at` stay for rows retired before this migration.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('signing_keys', (t) => {
    t.text('certificate_pem');
    t.timestamp('activates_at', { useTz: true });
  });
  await knex('signing_keys').update({ activates_at: knex.ref('created_at') });
  await knex.schema.alterTable('signing_keys', (t) => {
    t.timestamp('activates_at', { useTz: true }).notNullable().defaultTo(knex.fn.now()).alter();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('signing_keys', (t) => {
    t.dropColumn('certificate_pem');
    t.dropColumn('activates_at');
  });
}
