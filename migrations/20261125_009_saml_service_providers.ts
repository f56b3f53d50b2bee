import type { Knex } from 'knex';

/**
 * SAML service providers, registered from their metadata (issue "Step 5"): the document as
 * given, what was read from it (`parsed`, see `SpMetadata` in src/store/service-providers.ts),
 * and the registration's own choices.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('saml_service_providers', (t) => {
    t.text('entity_id').primary();
    t.text('metadata_xml').notNullable();
    t.jsonb('parsed').notNullable();
    t.text('level').notNullable().defaultTo('low');
    t.text('nameid_format').notNullable().defaultTo('persistent');
    t.jsonb('attributes').notNullable().defaultTo('[]');
    t.boolean('sign_response').notNullable().defaultTo(false);
    t.boolean('require_signed_requests').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('saml_service_providers');
}
