import type { Knex } from 'knex';

import { migrationSource } from './src/store/migrations.ts';

/**
 * For the knex CLI and tools that expect a knexfile. The IdP itself migrates with
 * `stepup migrate` (or at start), from the same migration source.
 */
const config: Knex.Config = {
  client: 'pg',
  connection: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  migrations: { migrationSource },
};

export default config;
