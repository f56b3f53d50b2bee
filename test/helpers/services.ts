import { randomBytes } from 'node:crypto';

import knex, { type Knex } from 'knex';
import { Redis } from 'ioredis';

import { openDatabase, type DatabaseTarget } from '../../src/store/database.ts';

/**
 * Which real servers the integration suites use: `TEST_DATABASE_URL` / `TEST_REDIS_URL`, else
 * the local servers when they answer, else the embedded backends with a printed notice.
 * `STEPUP_REQUIRE_SERVICES=1` (set in CI) turns a missing server into a failure.
 */
const required = process.env.STEPUP_REQUIRE_SERVICES === '1';
const postgresUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let postgresAnswers: Promise<boolean> | undefined;
let redisAnswers: Promise<boolean> | undefined;
const noticed = new Set<string>();

function notice(what: string) {
  if (noticed.has(what)) return;
  noticed.add(what);
  console.log(`  (notice: ${what})`);
}

async function probePostgres(): Promise<boolean> {
  const silent = () => {};
  const db = knex({ client: 'pg', connection: { connectionString: postgresUrl, connectionTimeoutMillis: 1000 }, log: { warn: silent, error: silent, deprecate: silent, debug: silent } });
  try {
    await db.raw('select 1');
    return true;
  } catch (error) {
    if (required) throw new Error(`STEPUP_REQUIRE_SERVICES=1 but Postgres at ${postgresUrl} does not answer: ${(error as Error).message}`, { cause: error });
    notice(`Postgres at ${postgresUrl} does not answer; using embedded PGlite`);
    return false;
  } finally {
    await db.destroy();
  }
}

async function probeRedis(): Promise<boolean> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch (error) {
    if (required) throw new Error(`STEPUP_REQUIRE_SERVICES=1 but Redis at ${redisUrl} does not answer: ${(error as Error).message}`, { cause: error });
    notice(`Redis at ${redisUrl} does not answer; using the in-process store`);
    return false;
  } finally {
    redis.disconnect();
  }
}

/** Whether the real Postgres is there (probed once per run). */
export function hasPostgres(): Promise<boolean> {
  postgresAnswers ??= probePostgres();
  return postgresAnswers;
}

/** Whether the real Redis is there (probed once per run). */
export function hasRedis(): Promise<boolean> {
  redisAnswers ??= probeRedis();
  return redisAnswers;
}

/** A fresh, empty database of its own on the test Postgres server; `drop()` removes it. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `stepup_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = knex({ client: 'pg', connection: postgresUrl });
  await admin.raw(`CREATE DATABASE ${name}`);
  await admin.destroy();
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      const admin = knex({ client: 'pg', connection: postgresUrl });
      await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.destroy();
    },
  };
}

/** The database target for one suite: its own Postgres database when there is one, else PGlite in memory. */
export async function testDatabaseTarget(): Promise<{ target: DatabaseTarget; cleanup(): Promise<void> }> {
  if (await hasPostgres()) {
    const database = await createPostgresDatabase();
    return { target: { url: database.url }, cleanup: () => database.drop() };
  }
  return { target: { pgliteMemory: true }, cleanup: async () => {} };
}

/** The Redis URL for the suites, or undefined to use the in-process store. */
export async function testRedisUrl(): Promise<string | undefined> {
  return (await hasRedis()) ? redisUrl : undefined;
}

/** A Redis key prefix no other suite or run uses. */
export function uniqueRedisPrefix(): string {
  return `stepup-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/** Opens a knex instance on a target (re-exported so suites need one import). */
export function openTestDatabase(target: DatabaseTarget): Knex {
  return openDatabase(target);
}
