import { setTimeout as sleep } from 'node:timers/promises';

import { expect } from 'chai';
import type { Knex } from 'knex';

import { createPostgresAdapter } from '../../src/adapters/postgres.ts';
import { createShortLivedAdapter } from '../../src/adapters/short-lived.ts';
import type { StoreAdapter } from '../../src/adapters/types.ts';
import { openDatabase } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrations.ts';
import { createMemoryStore } from '../../src/store/short-lived/memory.ts';
import { createRedisStore } from '../../src/store/short-lived/redis.ts';
import type { ShortLivedStore } from '../../src/store/short-lived/types.ts';
import { createPostgresDatabase, hasPostgres, testRedisUrl, uniqueRedisPrefix } from '../helpers/services.ts';

/** The backends of the durable models (Grant, RefreshToken), which do more than the contract. */
const DURABLE = new Set(['pglite', 'postgres']);

/** One backend under test: how to make an adapter for a model, and how to clean up. */
interface Backend {
  adapter(model: string): StoreAdapter;
  close(): Promise<void>;
}

const backends: Array<[name: string, open: () => Promise<Backend | undefined>]> = [
  ['memory', async () => shortLived(createMemoryStore())],
  ['redis', async () => {
    const url = await testRedisUrl();
    return url ? shortLived(createRedisStore({ url, keyPrefix: uniqueRedisPrefix() })) : undefined;
  }],
  ['pglite', async () => durable(openDatabase({ pgliteMemory: true }), async () => {})],
  ['postgres', async () => {
    if (!(await hasPostgres())) return undefined;
    const database = await createPostgresDatabase();
    return durable(openDatabase({ url: database.url }), () => database.drop());
  }],
];

function shortLived(store: ShortLivedStore): Backend {
  return { adapter: (model) => createShortLivedAdapter(store, model), close: () => store.close() };
}

async function durable(db: Knex, drop: () => Promise<void>): Promise<Backend> {
  await migrateToLatest(db);
  return {
    adapter: (model) => createPostgresAdapter(db, model),
    close: async () => {
      await db.destroy();
      await drop();
    },
  };
}

for (const [name, open] of backends) {
  describe(`oidc-provider adapter contract: ${name}`, function () {
    let backend: Backend | undefined;

    before(async function () {
      backend = await open();
      if (!backend) this.skip();
    });
    after(async () => backend?.close());

    const adapter = (model: string) => backend!.adapter(model);

    it('finds what it stored, and nothing it did not', async () => {
      const tokens = adapter('RefreshToken');
      await tokens.upsert('rt-1', { accountId: 'u1', grantId: 'g1', kind: 'RefreshToken' }, 60);
      expect(await tokens.find('rt-1')).to.deep.include({ accountId: 'u1', grantId: 'g1' });
      expect(await tokens.find('rt-unknown')).to.equal(undefined);
    });

    it('keeps models apart: the same id under another model is not found', async () => {
      await adapter('Grant').upsert('same-id', { accountId: 'u1', kind: 'Grant' }, 60);
      expect(await adapter('RefreshToken').find('same-id')).to.equal(undefined);
    });

    it('replaces a record on a second upsert', async () => {
      const sessions = adapter('Session');
      await sessions.upsert('s-1', { uid: 'uid-1', accountId: 'before' }, 60);
      await sessions.upsert('s-1', { uid: 'uid-1', accountId: 'after' }, 60);
      expect(await sessions.find('s-1')).to.deep.include({ accountId: 'after' });
    });

    it('honours the TTL: a record is gone once it expires', async () => {
      const codes = adapter('AuthorizationCode');
      await codes.upsert('code-ttl', { grantId: 'g-ttl', kind: 'AuthorizationCode' }, 1);
      expect(await codes.find('code-ttl')).to.not.equal(undefined);
      await sleep(1200);
      expect(await codes.find('code-ttl')).to.equal(undefined);
    });

    it('finds a session by uid and a device code by user code', async () => {
      await adapter('Session').upsert('s-uid', { uid: 'the-uid', accountId: 'u9' }, 60);
      expect(await adapter('Session').findByUid('the-uid')).to.deep.include({ accountId: 'u9' });
      expect(await adapter('Session').findByUid('other-uid')).to.equal(undefined);
      await adapter('DeviceCode').upsert('dc-1', { userCode: 'ABCD-EFGH', grantId: 'g-dc' }, 60);
      expect(await adapter('DeviceCode').findByUserCode('ABCD-EFGH')).to.deep.include({ grantId: 'g-dc' });
    });

    it('consumes atomically: concurrent consumes leave one stable timestamp', async () => {
      const codes = adapter('AuthorizationCode');
      await codes.upsert('code-c', { grantId: 'g-c', kind: 'AuthorizationCode' }, 60);
      expect((await codes.find('code-c'))?.consumed).to.equal(undefined);
      await Promise.all(Array.from({ length: 20 }, () => codes.consume('code-c')));
      const first = (await codes.find('code-c'))?.consumed;
      expect(first).to.be.a('number');
      await sleep(1100);
      await codes.consume('code-c');
      expect((await codes.find('code-c'))?.consumed).to.equal(first);
    });

    it('tells exactly one of many concurrent consumers that it won', async () => {
      const codes = adapter('AuthorizationCode');
      await codes.upsert('code-race', { grantId: 'g-race', kind: 'AuthorizationCode' }, 60);
      const won = await Promise.all(Array.from({ length: 20 }, () => codes.consume('code-race')));
      expect(won.filter((result) => result === true)).to.have.length(1);
      expect(won.filter((result) => result === false)).to.have.length(19);
      expect(await codes.consume('code-race')).to.equal(false);
    });

    it('tells a consumer of a record that is not there that it did not win', async () => {
      expect(await adapter('RefreshToken').consume('rt-never-stored')).to.equal(false);
    });

    it('destroys a record', async () => {
      const tokens = adapter('AccessToken');
      await tokens.upsert('at-d', { grantId: 'g-d' }, 60);
      await tokens.destroy('at-d');
      expect(await tokens.find('at-d')).to.equal(undefined);
    });

    it('revokes everything of a grant and nothing of another', async () => {
      const tokens = adapter('RefreshToken');
      await tokens.upsert('rt-a1', { grantId: 'grant-a' }, 60);
      await tokens.upsert('rt-a2', { grantId: 'grant-a' }, 60);
      await tokens.upsert('rt-b1', { grantId: 'grant-b' }, 60);
      await tokens.revokeByGrantId('grant-a');
      expect(await tokens.find('rt-a1')).to.equal(undefined);
      expect(await tokens.find('rt-a2')).to.equal(undefined);
      expect(await tokens.find('rt-b1')).to.not.equal(undefined);
    });

    if (!DURABLE.has(name)) return;
    describe('what only the durable store does', function () {
      it('reads a refresh token with its grant in one step, and says when the grant is gone', async () => {
        const tokens = adapter('RefreshToken');
        await adapter('Grant').upsert('grant-w', { accountId: 'u1', kind: 'Grant' }, 60);
        await tokens.upsert('rt-w1', { grantId: 'grant-w', kind: 'RefreshToken' }, 60);
        await tokens.upsert('rt-w2', { grantId: 'grant-gone', kind: 'RefreshToken' }, 60);
        expect(await tokens.findWithGrant!('rt-w1')).to.deep.equal({
          record: { grantId: 'grant-w', kind: 'RefreshToken' },
          grant: { accountId: 'u1', kind: 'Grant' },
        });
        expect(await tokens.findWithGrant!('rt-w2')).to.deep.equal({ record: { grantId: 'grant-gone', kind: 'RefreshToken' }, grant: undefined });
        expect(await tokens.findWithGrant!('rt-never')).to.equal(undefined);
      });

      it('rotates: consumes the old token and stores its successor together', async () => {
        const tokens = adapter('RefreshToken');
        await tokens.upsert('rt-r1', { grantId: 'g-r', kind: 'RefreshToken' }, 60);
        expect(await tokens.rotate!('rt-r1', 'rt-r2', { grantId: 'g-r', kind: 'RefreshToken', rotations: 1 }, 60)).to.equal(true);
        expect((await tokens.find('rt-r1'))?.consumed).to.be.a('number');
        expect(await tokens.find('rt-r2')).to.deep.equal({ grantId: 'g-r', kind: 'RefreshToken', rotations: 1 });
        expect(await tokens.consume('rt-r2')).to.equal(true);
      });

      it('rotates one of many concurrent rotations of a token, and stores only its successor', async () => {
        const tokens = adapter('RefreshToken');
        await tokens.upsert('rt-race', { grantId: 'g-race', kind: 'RefreshToken' }, 60);
        const won = await Promise.all(Array.from({ length: 20 }, (_, n) => tokens.rotate!('rt-race', `rt-next-${n}`, { grantId: 'g-race' }, 60)));
        expect(won.filter((result) => result === true)).to.have.length(1);
        const stored = await Promise.all(won.map((_, n) => tokens.find(`rt-next-${n}`)));
        expect(stored.map((record, n) => (record ? n : -1)).filter((n) => n >= 0)).to.deep.equal([won.indexOf(true)]);
      });

      it('stores nothing when rotating a token that is consumed, gone or expired', async () => {
        const tokens = adapter('RefreshToken');
        await tokens.upsert('rt-spent', { grantId: 'g-s' }, 60);
        await tokens.consume('rt-spent');
        await tokens.upsert('rt-old', { grantId: 'g-s' }, 1);
        await sleep(1100);
        for (const old of ['rt-spent', 'rt-never-stored', 'rt-old']) {
          expect(await tokens.rotate!(old, `${old}-next`, { grantId: 'g-s' }, 60), old).to.equal(false);
          expect(await tokens.find(`${old}-next`), old).to.equal(undefined);
        }
      });

      it('leaves the old token unconsumed when its successor cannot be stored', async () => {
        const tokens = adapter('RefreshToken');
        await tokens.upsert('rt-keep', { grantId: 'g-k' }, 60);
        // jsonb refuses the NUL character: the insert fails inside the rotating statement.
        const failure = await tokens.rotate!('rt-keep', 'rt-bad', { grantId: 'g-k', nonce: 'a\u0000b' }, 60).then(() => undefined, (error: Error) => error);
        expect(failure).to.be.instanceOf(Error);
        expect((await tokens.find('rt-keep'))?.consumed).to.equal(undefined);
        expect(await tokens.find('rt-bad')).to.equal(undefined);
        expect(await tokens.consume('rt-keep')).to.equal(true);
      });
    });
  });
}
