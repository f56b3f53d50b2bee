import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';

import Koa from 'koa';
import mount from 'koa-mount';
import { pino } from 'pino';

import { createIdp, type Idp, type IdpOptions } from '../../src/app.ts';
import { hashPassword } from '../../src/auth/password-hash.ts';
import { configWith, type IdpConfig } from '../../src/config/index.ts';
import type { DatabaseTarget } from '../../src/store/database.ts';
import { testDatabaseTarget, testRedisUrl, uniqueRedisPrefix } from './services.ts';

export const TEST_SECRET_KEY = 'test-secret-key-that-is-at-least-32-characters-long';

/** Shared backing services for one or more IdP instances in a suite. */
export interface Backing {
  database: DatabaseTarget;
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  cleanup(): Promise<void>;
}

/** A fresh database (and Redis key space) for a suite. */
export async function createBacking(): Promise<Backing> {
  const { target, cleanup } = await testDatabaseTarget();
  return { database: target, redisUrl: await testRedisUrl(), redisKeyPrefix: uniqueRedisPrefix(), cleanup };
}

/** A running IdP on a loopback port, its log lines captured. */
export interface RunningIdp {
  idp: Idp;
  issuer: string;
  /** Where this node listens (differs from the issuer when nodes share one issuer). */
  url: string;
  /** Every log line written so far. */
  logs: string[];
  stop(): Promise<void>;
}

/** A suite's own differences from the default IdP. */
export interface StartOptions {
  mountPath?: string;
  config?: Partial<IdpConfig>;
  now?: () => number;
  demo?: boolean;
  /** Second-factor kinds beside the built-in ones (a fake challenge kind, say). */
  extraFactorKinds?: IdpOptions['extraFactorKinds'];
  /** Heartbeat interval of the event streams, ms (15 s by default), so a test sees heartbeats soon. */
  heartbeatMs?: number;
  /** How apps are pushed to in place of the one `PUSH_GATEWAY` names (a capturing one, say). */
  pushGateway?: IdpOptions['pushGateway'];
  /**
   * The host name of the URL and issuer. Defaults to 127.0.0.1; `localhost` for WebAuthn, whose
   * relying-party id must be a domain name, never an IP address (W3C WebAuthn Level 3 §5.1.2).
   */
  host?: string;
}

/**
 * Starts an IdP on 127.0.0.1 with its own port, sharing `backing`. With `mountPath` it is
 * embedded in a host Koa app under that prefix, as an embedding application would.
 */
export async function startIdp(backing: Backing, options: StartOptions = {}): Promise<RunningIdp> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host ?? '127.0.0.1'}:${port}${options.mountPath ?? ''}`;
  const issuer = options.config?.issuer ?? url;
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const config = configWith({
    secretKey: TEST_SECRET_KEY,
    issuer,
    redisUrl: backing.redisUrl,
    logLevel: 'debug',
    ...options.config,
  });
  // Two instances on one database migrate one after the other; knex's lock keeps that safe.
  const idp = await createIdp({
    config,
    database: backing.database,
    redisKeyPrefix: backing.redisKeyPrefix,
    logger: pino({ level: 'debug' }, sink),
    ...(options.now ? { now: options.now } : {}),
    ...(options.extraFactorKinds ? { extraFactorKinds: options.extraFactorKinds } : {}),
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    ...(options.pushGateway ? { pushGateway: options.pushGateway } : {}),
    demo: options.demo ?? false,
  });
  let handler = idp.app.callback();
  if (options.mountPath) {
    const host = new Koa();
    host.use(mount(options.mountPath, idp.app));
    handler = host.callback();
  }
  server.on('request', handler);
  return {
    idp,
    issuer,
    url,
    logs,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await idp.close();
    },
  };
}

/** Adds a user with a password (argon2id, the real parameters). */
export async function addUser(idp: Pick<Idp, 'storage'>, user: { username: string; password: string; name?: string; email?: string }) {
  const passwordHash = await hashPassword(user.password, { memoryCost: 19456, timeCost: 2, parallelism: 1 });
  return idp.storage.users.add({ username: user.username, displayName: user.name ?? null, email: user.email ?? null, passwordHash });
}

/** What {@link useIdp} hands a suite: its IdP and backing, there from the suite's `before` on. */
export interface SuiteIdp {
  readonly running: RunningIdp;
  readonly backing: Backing;
}

/**
 * One IdP on a backing of its own for the whole suite: started in a `before` hook, stopped and
 * cleaned up in an `after` hook. Call it in the `describe` body; `options` is read when the
 * suite starts (so it may name the suite's clock).
 */
export function useIdp(options: () => StartOptions = () => ({})): SuiteIdp {
  let started: { running: RunningIdp; backing: Backing } | undefined;
  const current = () => {
    if (!started) throw new Error('useIdp: the suite has not started its IdP yet (use it inside hooks and tests)');
    return started;
  };
  before(async () => {
    const backing = await createBacking();
    started = { backing, running: await startIdp(backing, options()) };
  });
  after(async () => {
    await started?.running.stop();
    await started?.backing.cleanup();
  });
  return {
    get running() {
      return current().running;
    },
    get backing() {
      return current().backing;
    },
  };
}
