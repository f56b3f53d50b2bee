import { expect } from 'chai';

import { migrationSource } from '../../src/store/migrations.ts';
import { createCliBacking, type CliBacking } from './run.ts';

describe('stepup migrate', function () {
  let backing: CliBacking;

  before(async () => {
    backing = await createCliBacking();
  });
  after(async () => backing?.cleanup());

  it('refuses other commands on an empty database, applies the schema once, then is a no-op', async () => {
    const early = await backing.run(['client', 'list']);
    expect(early.code).to.equal(1);
    expect(early.stderr).to.equal('stepup: the database has no schema yet: run `stepup migrate`\n');
    expect(early.stdout).to.equal('');

    const first = await backing.run(['migrate']);
    expect(first.code, first.stderr).to.equal(0);
    // Every migration, in order (listed from the source, so a new one needs no edit here).
    const names = (await migrationSource.getMigrations([])).map(([name]) => name);
    expect(names.slice(0, 2)).to.deep.equal(['20261124_001_foundation', '20261124_002_totp_tokens']);
    expect(first.stdout).to.equal(names.map((name) => `applied ${name}\n`).join(''));
    const tables = await backing.inspect(async (db) =>
      ((await db('pg_tables').where({ schemaname: 'public' }).pluck('tablename')) as string[]).sort());
    expect(tables).to.include.members(['users', 'oidc_clients', 'signing_keys', 'audit_events', 'oidc_payloads']);

    const again = await backing.run(['migrate', '--json']);
    expect(again.code, again.stderr).to.equal(0);
    expect(JSON.parse(again.stdout)).to.deep.equal({ applied: [] });
    const runs = await backing.inspect(async (db) => (await db('knex_migrations').pluck('name')) as string[]);
    expect(runs).to.deep.equal(names);

    const text = await backing.run(['migrate']);
    expect(text.stdout).to.match(/schema is current/);

    const after = await backing.run(['client', 'list', '--json']);
    expect(after.code, after.stderr).to.equal(0);
    expect(JSON.parse(after.stdout)).to.deep.equal({ clients: [] });
  });
});
