import type { Knex } from 'knex';

import * as foundation from '../../migrations/20261124_001_foundation.ts';
import * as totpTokens from '../../migrations/20261124_002_totp_tokens.ts';
import * as enrolmentGuessBudget from '../../migrations/20261125_003_enrolment_guess_budget.ts';
import * as accessPasses from '../../migrations/20261125_004_access_passes.ts';
import * as usernameNormalised from '../../migrations/20261125_005_username_normalised.ts';
import * as devices from '../../migrations/20261125_006_devices.ts';
import * as numberMatching from '../../migrations/20261125_007_number_matching.ts';
import * as defaultFactor from '../../migrations/20261125_008_default_factor.ts';
import * as samlServiceProviders from '../../migrations/20261125_009_saml_service_providers.ts';
import * as signingCertificates from '../../migrations/20261125_010_signing_certificates.ts';
import * as webauthnCredentials from '../../migrations/20261125_011_webauthn_credentials.ts';
import * as userAttributes from '../../migrations/20261125_012_user_attributes.ts';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * The migrations in order. Listed here rather than read from the folder so they load the same
 * way from the CLI, the server and the tests, on Postgres and PGlite alike.
 */
const MIGRATIONS: ReadonlyArray<[name: string, migration: Migration]> = [
  ['20261124_001_foundation', foundation],
  ['20261124_002_totp_tokens', totpTokens],
  ['20261125_003_enrolment_guess_budget', enrolmentGuessBudget],
  ['20261125_004_access_passes', accessPasses],
  ['20261125_005_username_normalised', usernameNormalised],
  ['20261125_006_devices', devices],
  ['20261125_007_number_matching', numberMatching],
  ['20261125_008_default_factor', defaultFactor],
  ['20261125_009_saml_service_providers', samlServiceProviders],
  ['20261125_010_signing_certificates', signingCertificates],
  ['20261125_011_webauthn_credentials', webauthnCredentials],
  ['20261125_012_user_attributes', userAttributes],
];

/** A knex migration source over {@link MIGRATIONS}. */
export const migrationSource: Knex.MigrationSource<[string, Migration]> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};

/** Brings the schema up to date; safe to run from several nodes at once (knex takes a lock). */
export async function migrateToLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}
