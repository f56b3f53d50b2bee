/**
 * Migration 005 moves uniqueness and lookup of usernames from Postgres' `lower()` to the stored
 * `normaliseUsername` form: existing rows are filled in, and names that are one name only under
 * the new rule stop the migration with their names rather than a bare index error.
 */
import { expect } from 'chai';
import type { Knex } from 'knex';

import { migrationSource } from '../../src/store/migrations.ts';
import { createUserRepository } from '../../src/store/users.ts';
import { openTestDatabase, testDatabaseTarget } from '../helpers/services.ts';

const BEFORE = '20261125_004_access_passes';

describe('migration: normalised usernames', function () {
  const opened: Array<{ db: Knex; cleanup(): Promise<void> }> = [];
  after(async () => {
    for (const { db, cleanup } of opened) {
      await db.destroy();
      await cleanup();
    }
  });

  /** A database migrated up to the one before 005, with these usernames in it. */
  async function databaseWith(usernames: string[]): Promise<Knex> {
    const { target, cleanup } = await testDatabaseTarget();
    const db = openTestDatabase(target);
    opened.push({ db, cleanup });
    const names = (await migrationSource.getMigrations([])).map(([name]) => name);
    for (const name of names.slice(0, names.indexOf(BEFORE) + 1)) await db.migrate.up({ migrationSource, name });
    for (const username of usernames) await db('users').insert({ username });
    return db;
  }

  it('fills in the normalised name, finds users by it, and keeps it unique', async () => {
    const db = await databaseWith(['İlknur', 'ÅSE']);
    await db.migrate.latest({ migrationSource });
    const users = createUserRepository(db);
    expect((await users.findByUsername('i\u0307lknur'))?.username).to.equal('İlknur');
    expect((await users.findByUsername('A\u030Ase'))?.username).to.equal('ÅSE');
    expect(await users.findByUsername('ilknur')).to.equal(undefined);
    const error = await users.add({ username: 'ＡＳＥ'.replace('Ａ', 'Å') }).catch((caught: unknown) => caught);
    expect(error).to.have.property('name', 'UsernameTakenError');
  });

  it('refuses names that are one name under the new rule, naming them', async () => {
    const db = await databaseWith(['anna', 'ＡＮＮＡ']);
    const error = await db.migrate.latest({ migrationSource }).catch((caught: unknown) => caught as Error);
    expect(error).to.be.an('error');
    expect((error as Error).message).to.include('usernames that are now the same name: "anna" = "ＡＮＮＡ"');
    // The migration ran in a transaction: nothing of it is left, and the old index still holds.
    expect(await db.schema.hasColumn('users', 'username_normalised')).to.equal(false);
  });
});
