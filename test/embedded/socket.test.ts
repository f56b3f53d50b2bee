import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import { join } from 'node:path';

import { expect } from 'chai';
import type { Knex } from 'knex';

import { openDatabase } from '../../src/store/database.ts';
import { NOTICE_CHANNEL } from '../../src/store/embedded/notices.ts';
import { openEmbeddedServer, type EmbeddedServerStorage } from '../../src/store/embedded/server-side.ts';

interface RawConnection {
  on(event: 'error', listener: () => void): void;
  query(sql: string, params?: unknown[]): Promise<unknown>;
  connection: { stream: Socket };
}

describe('embedded server socket (PGlite in turns)', function () {
  this.timeout(60_000);
  let host: EmbeddedServerStorage;
  let server: Knex;
  let command: Knex;

  before(async () => {
    host = await openEmbeddedServer({ dataDir: mkdtempSync(join(tmpdir(), 'stepup-socket-')), onError: (error) => { throw error; } });
    server = openDatabase(host.database);
    command = openDatabase({ socket: host.socket });
    await server.raw('create table t (id int primary key, who text)');
  });

  after(async () => {
    await command?.destroy();
    await server?.destroy();
    await host?.close();
  });

  it('serves its socket to the owner alone', () => {
    expect(statSync(host.socket).mode & 0o777).to.equal(0o600);
  });

  it('keeps a transaction of one side whole while the other side queries', async () => {
    const inside = command.transaction(async (trx) => {
      await trx('t').insert({ id: 1, who: 'command' });
      await new Promise((done) => setTimeout(done, 200));
      await trx('t').insert({ id: 2, who: 'command' });
      throw new Error('roll back');
    }).catch((error: Error) => error.message);
    await new Promise((done) => setTimeout(done, 50));
    // Waits for the command's transaction, then sees none of it.
    expect(await server('t').count('* as n').first()).to.deep.equal({ n: 0 });
    expect(await inside).to.equal('roll back');
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? server : command).raw('select ?::int as x', [i])));
    expect(results.map((r: { rows: Array<{ x: number }> }) => r.rows[0]?.x)).to.deep.equal(Array.from({ length: 40 }, (_, i) => i));
    await server.transaction(async (trx) => {
      await trx('t').insert({ id: 3, who: 'server' });
      const seen = command('t').select('id');
      await new Promise((done) => setTimeout(done, 100));
      await trx('t').insert({ id: 4, who: 'server' });
      void seen.then(() => {});
    });
    expect((await command('t').select('id').orderBy('id')).map((row: { id: number }) => row.id)).to.deep.equal([3, 4]);
  });

  it('hands a NOTIFY from the socket to the server’s store', async () => {
    const seen = new Promise((done) => void host.shortLived.subscribe('some-channel', done));
    await command.raw('select pg_notify(?, ?)', [NOTICE_CHANNEL, JSON.stringify({ op: 'publish', channel: 'some-channel', message: 'hello' })]);
    expect(await seen).to.equal('hello');
  });

  it('rolls back what a client that went away left open', async () => {
    // A raw pg client from knex's pool, so the socket can be cut mid-transaction.
    const other = openDatabase({ socket: host.socket });
    const connection = (await other.client.acquireConnection()) as RawConnection;
    connection.on('error', () => {});
    await connection.query('begin');
    await connection.query('insert into t (id, who) values (9, $1)', ['gone']);
    connection.connection.stream.destroy();
    expect(await server('t').where({ id: 9 }).first()).to.equal(undefined);
  });
});
