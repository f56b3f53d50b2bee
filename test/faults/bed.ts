import type * as client from 'openid-client';

import { configWith } from '../../src/config/index.ts';
import { openStorage, type Storage } from '../../src/store/index.ts';
import { addUser, TEST_SECRET_KEY } from '../helpers/idp.ts';
import { discover, registerClient } from '../oidc/login-flow.ts';
import { startServer, type ServerProcess } from '../server/spawn.ts';
import { startOwnPostgres, startOwnRedis, type OwnPostgres, type OwnRedis } from './services.ts';

/** The password of every employee the battery adds. */
export const PASSWORD = 'Vinter-i-Viborg-2026';
/** The relying party every battery login is for. */
export const CLIENT_ID = 'fault-rp';

/**
 * What one fault suite runs on: a Redis and a Postgres of its own, standalone server processes
 * (`node src/server.ts`) on them serving one issuer, as nodes behind a load balancer do, and the
 * storage as the test reaches it directly (to seed and to count rows).
 */
export interface FaultBed {
  redis: OwnRedis;
  postgres: OwnPostgres;
  /** The nodes; the issuer is the first one's URL. */
  nodes: ServerProcess[];
  /** The environment every node (and a `stepup` command) gets. */
  env: Record<string, string>;
  storage: Storage;
  /** openid-client for {@link CLIENT_ID}, by discovery at the first node. */
  rp: client.Configuration;
  /** Adds an employee with {@link PASSWORD}. */
  addEmployee(username: string): Promise<{ id: string; username: string }>;
  /** Starts node `index` again (after it was killed) on its port, as an orchestrator restarts one. */
  restartNode(index: number): Promise<ServerProcess>;
  /** Stops whatever of the above is running; for `after`, safe after a failed start. */
  stop(): Promise<void>;
}

/** Starts Redis and Postgres of the test's own, then `nodes` server processes on them. */
export async function startFaultBed(options: { nodes?: number } = {}): Promise<FaultBed> {
  const started: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const undo of started.reverse()) await undo().catch(() => {});
  };
  try {
    const [redis, postgres] = await Promise.all([startOwnRedis(), startOwnPostgres()]);
    started.push(() => redis.stop(), () => postgres.stop());
    const env = { DATABASE_URL: postgres.url, REDIS_URL: redis.url, SECRET_KEY: TEST_SECRET_KEY, LOG_LEVEL: 'warn' };
    const nodes: ServerProcess[] = [];
    // Every node after the first serves the first one's issuer, as behind a load balancer.
    const startNode = async (port?: string) => {
      const node = await startServer({ ...env, ...(nodes[0] ? { ISSUER: nodes[0].url } : {}), ...(port ? { PORT: port } : {}) });
      started.push(() => node.stop());
      await node.ready();
      return node;
    };
    for (let i = 0; i < (options.nodes ?? 1); i += 1) nodes.push(await startNode());
    const storage = await openStorage(configWith({ secretKey: TEST_SECRET_KEY, databaseUrl: postgres.url, redisUrl: redis.url }), { database: { url: postgres.url }, onStoreError: () => {} });
    started.push(() => storage.close());
    await registerClient({ storage }, CLIENT_ID);
    const rp = await discover((nodes[0] as ServerProcess).url, CLIENT_ID);
    return {
      redis,
      postgres,
      nodes,
      env,
      storage,
      rp,
      addEmployee: (username) => addUser({ storage }, { username, password: PASSWORD }),
      async restartNode(index) {
        nodes[index] = await startNode(new URL((nodes[index] as ServerProcess).url).port);
        return nodes[index];
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
