import { expect } from 'chai';
import { ReplyError as IoredisReplyError } from 'ioredis';

import { storageOutage } from './outage.ts';

/** An error as pg, Node or ioredis make it: a message and the fields they add. */
const shaped = (message: string, fields: Record<string, unknown> = {}) => Object.assign(new Error(message), fields);

/** ioredis's error reply class (from redis-errors, which it exports untyped). */
const ReplyError = IoredisReplyError as new (message: string) => Error;

describe('storageOutage', () => {
  it('recognises a server that cannot be reached, directly and inside an AggregateError', () => {
    expect(storageOutage(shaped('connect ECONNREFUSED 127.0.0.1:6379', { code: 'ECONNREFUSED' }))?.reason).to.equal('ECONNREFUSED');
    expect(storageOutage(shaped('read ECONNRESET', { code: 'ECONNRESET' }))?.reason).to.equal('ECONNRESET');
    expect(storageOutage(shaped('getaddrinfo ENOTFOUND db', { code: 'ENOTFOUND' }))?.reason).to.equal('ENOTFOUND');
    // Node tries each address of a name in turn and reports them together.
    const both = new AggregateError([shaped('connect ECONNREFUSED ::1:5432', { code: 'ECONNREFUSED' }), shaped('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' })]);
    expect(storageOutage(both)?.reason).to.equal('ECONNREFUSED');
  });

  it('recognises ioredis giving up: retries spent, command timeout, closed connection', () => {
    const retries = shaped('Reached the max retries per request limit (which is 1). Refer to "maxRetriesPerRequest" option for details.', { name: 'MaxRetriesPerRequestError' });
    expect(storageOutage(retries)?.reason).to.equal('MaxRetriesPerRequestError');
    expect(storageOutage(shaped('Command timed out'))?.reason).to.equal('Command timed out');
    expect(storageOutage(shaped('Connection is closed.'))?.reason).to.equal('Connection is closed.');
    expect(storageOutage(shaped("Stream isn't writeable and enableOfflineQueue options is false"))?.reason).to.equal("Stream isn't writeable");
  });

  it('recognises a full, read-only or loading Redis by its reply, also when it aborted a transaction', () => {
    expect(storageOutage(new ReplyError("OOM command not allowed when used memory > 'maxmemory'."))?.reason).to.equal('OOM');
    expect(storageOutage(new ReplyError("READONLY You can't write against a read only replica."))?.reason).to.equal('READONLY');
    expect(storageOutage(new ReplyError('LOADING Redis is loading the dataset in memory'))?.reason).to.equal('LOADING');
    const aborted = Object.assign(new ReplyError('EXECABORT Transaction discarded because of previous errors.'), {
      previousErrors: [new ReplyError("OOM command not allowed when used memory > 'maxmemory'.")],
    });
    expect(storageOutage(aborted)?.reason).to.equal('OOM');
  });

  it('does not take an ordinary Redis error reply for an outage', () => {
    expect(storageOutage(new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'))).to.equal(undefined);
    expect(storageOutage(new ReplyError('ERR syntax error'))).to.equal(undefined);
    // The words alone, in an error that is no reply, are not Redis speaking.
    expect(storageOutage(new Error('OOM in my own code'))).to.equal(undefined);
  });

  it('recognises Postgres going away or refusing to serve by SQLSTATE', () => {
    expect(storageOutage(shaped('terminating connection due to administrator command', { code: '57P01' }))?.reason).to.equal('pg 57P01');
    expect(storageOutage(shaped('the database system is starting up', { code: '57P03' }))?.reason).to.equal('pg 57P03');
    expect(storageOutage(shaped('connection failure', { code: '08006' }))?.reason).to.equal('pg 08006');
    expect(storageOutage(shaped('sorry, too many clients already', { code: '53300' }))?.reason).to.equal('pg 53300');
    expect(storageOutage(shaped('select pg_sleep(9) - canceling statement due to statement timeout', { code: '57014' }))?.reason).to.equal('pg 57014');
    expect(storageOutage(shaped('cannot execute INSERT in a read-only transaction', { code: '25006' }))?.reason).to.equal('pg 25006');
  });

  it('does not take a refused statement for an outage', () => {
    expect(storageOutage(shaped('duplicate key value violates unique constraint', { code: '23505' }))).to.equal(undefined);
    expect(storageOutage(shaped('relation "users" does not exist', { code: '42P01' }))).to.equal(undefined);
    expect(storageOutage(shaped('password authentication failed for user "idp"', { code: '28P01' }))).to.equal(undefined);
  });

  it("recognises pg's and knex's connection messages, behind knex's statement prefix", () => {
    expect(storageOutage(shaped('Connection terminated unexpectedly'))?.reason).to.equal('Connection terminated unexpectedly');
    expect(storageOutage(shaped('Connection terminated due to connection timeout'))?.reason).to.equal('Connection terminated due to connection timeout');
    expect(storageOutage(shaped('ROLLBACK - Client has encountered a connection error and is not queryable'))?.reason).to.equal('Client has encountered a connection error and is not queryable');
    const acquire = shaped('Knex: Timeout acquiring a connection. The pool is probably full. Are you missing a .transacting(trx) call?', { name: 'KnexTimeoutError' });
    expect(storageOutage(acquire)?.reason).to.equal('KnexTimeoutError');
  });

  it('never returns the message of a statement, which knex writes with its values', () => {
    const failed = shaped("update \"users\" set \"password_hash\" = '$argon2id$v=19$secret' - Connection terminated unexpectedly");
    expect(storageOutage(failed)?.reason).to.equal('Connection terminated unexpectedly');
  });

  it('names the store when the error tells which, and leaves a socket error to either', () => {
    expect(storageOutage(shaped('Command timed out'))).to.deep.equal({ store: 'redis', reason: 'Command timed out' });
    expect(storageOutage(new ReplyError("OOM command not allowed when used memory > 'maxmemory'."))).to.deep.equal({ store: 'redis', reason: 'OOM' });
    expect(storageOutage(shaped('terminating connection due to administrator command', { code: '57P01' }))).to.deep.equal({ store: 'postgres', reason: 'pg 57P01' });
    expect(storageOutage(shaped('Knex: Timeout acquiring a connection.', { name: 'KnexTimeoutError' }))).to.deep.equal({ store: 'postgres', reason: 'KnexTimeoutError' });
    expect(storageOutage(shaped('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' }))).to.deep.equal({ store: undefined, reason: 'ECONNREFUSED' });
  });

  it('follows causes (an error wrapped by our own code), but not for ever', () => {
    const wrapped = new Error('loading the session failed', { cause: shaped('connect ECONNREFUSED', { code: 'ECONNREFUSED' }) });
    expect(storageOutage(wrapped)?.reason).to.equal('ECONNREFUSED');
    const loop: Error & { cause?: unknown } = new Error('a');
    loop.cause = loop;
    expect(storageOutage(loop)).to.equal(undefined);
  });

  it('is undefined for anything else', () => {
    for (const value of [undefined, null, 'ECONNREFUSED', 42, new TypeError('x is undefined'), shaped('boom', { code: 'ERR_SOMETHING' })]) {
      expect(storageOutage(value)).to.equal(undefined);
    }
  });
});
