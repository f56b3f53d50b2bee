import { Redis } from 'ioredis';
import knex from 'knex';

import { configWith } from '../src/config/index.ts';
import { openStorage, type Storage } from '../src/store/index.ts';
import { TEST_SECRET_KEY } from '../test/helpers/idp.ts';
import { startServer, type ServerProcess } from '../test/server/spawn.ts';

/** Where the bench's own database and Redis live (the README's servers, as the tests use them). */
const POSTGRES_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Redis databases the bench may take, when empty (the tests use database 0 with key prefixes). */
const SPARE_REDIS_DBS = [15, 14, 13, 12, 11, 10, 9, 8];

/** A database and a Redis database of the bench's own, and the storage over them. */
export interface Backing {
  databaseUrl: string;
  redisUrl: string;
  /** The same storage the nodes open, for registering clients and users. */
  storage: Storage;
  /** The Redis database itself, for MEMORY USAGE and INFO. */
  redis: Redis;
  /** Closes the storage, empties the Redis database and drops the database. */
  drop(): Promise<void>;
}

/** Creates `stepup_bench_<pid>` on the Postgres server and takes an empty spare Redis database. */
export async function createBacking(): Promise<Backing> {
  const name = `stepup_bench_${process.pid}`;
  const admin = knex({ client: 'pg', connection: POSTGRES_URL });
  await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.raw(`CREATE DATABASE ${name}`);
  await admin.destroy();
  const databaseUrl = Object.assign(new URL(POSTGRES_URL), { pathname: `/${name}` }).href;

  const { redis, redisUrl } = await spareRedisDatabase();
  const storage = await openStorage(configWith({ secretKey: TEST_SECRET_KEY, databaseUrl, redisUrl }), { migrate: true });
  return {
    databaseUrl,
    redisUrl,
    storage,
    redis,
    async drop() {
      await storage.close();
      await redis.flushdb();
      redis.disconnect();
      const dropper = knex({ client: 'pg', connection: POSTGRES_URL });
      await dropper.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.destroy();
    },
  };
}

/** The first spare Redis database that holds no key: the bench empties it when done, so it must be nobody's. */
async function spareRedisDatabase(): Promise<{ redis: Redis; redisUrl: string }> {
  for (const db of SPARE_REDIS_DBS) {
    const redisUrl = Object.assign(new URL(REDIS_URL), { pathname: `/${db}` }).href;
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    if ((await redis.dbsize()) === 0) return { redis, redisUrl };
    redis.disconnect();
  }
  throw new Error(`no empty Redis database among ${SPARE_REDIS_DBS.join(', ')} at ${REDIS_URL}`);
}

/** How a node of ours is started. */
export interface NodeOptions {
  /** The issuer, when this node joins another's cluster; its own URL otherwise. */
  issuer?: string;
  logLevel?: 'warn' | 'info';
  /** Write a V8 CPU profile (`node --cpu-prof`) into this directory when the node stops. */
  cpuProfileDir?: string;
}

/** Starts `node src/server.ts` on the bench's backing, as an operator starts a node, and waits until it is ready. */
export async function startNode(backing: Backing, options: NodeOptions = {}): Promise<ServerProcess> {
  const node = await startServer({
    DATABASE_URL: backing.databaseUrl,
    REDIS_URL: backing.redisUrl,
    SECRET_KEY: TEST_SECRET_KEY,
    LOG_LEVEL: options.logLevel ?? 'warn',
    ...(options.issuer ? { ISSUER: options.issuer } : {}),
    ...(options.cpuProfileDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${options.cpuProfileDir}` } : {}),
  });
  await node.ready();
  return node;
}
