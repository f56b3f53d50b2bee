import { expect } from 'chai';

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
    expect(first.stdout).to.equal('applied 20261124_001_foundation\napplied 20261124_002_totp_tokens\n');
    const tables = await backing.inspect(async (db) =>
      ((await db('pg_tables').where({ schemaname: 'public' }).pluck('tablename')) as string[]).sort());
    expect(tables).to.include.members(['users', 'oidc_clients', 'signing_keys', 'audit_events', 'oidc_payloads']);

    const again = await backing.run(['migrate', '--json']);
    expect(again.code, again.stderr).to.equal(0);
    expect(JSON.parse(again.stdout)).to.deep.equal({ applied: [] });
    const runs = await backing.inspect(async (db) => (await db('knex_migrations').pluck('name')) as string[]);
    expect(runs).to.deep.equal(['20261124_001_foundation', '20261124_002_totp_tokens']);

    const text = await backing.run(['migrate']);
    expect(text.stdout).to.match(/schema is current/);

    const after = await backing.run(['client', 'list', '--json']);
    expect(after.code, after.stderr).to.equal(0);
    expect(JSON.parse(after.stdout)).to.deep.equal({ clients: [] });
  });
});
