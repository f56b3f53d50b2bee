import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Knex } from 'knex';

import { deriveKey } from '../../src/crypto/derived-keys.ts';
import { createSecretBox } from '../../src/crypto/secret-box.ts';
import { createAuditLog, type AuditType, type StoredAuditEvent } from '../../src/store/audit.ts';
import { createClientRepository } from '../../src/store/clients.ts';
import type { DatabaseTarget } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrations.ts';
import { createSigningKeyRepository } from '../../src/store/signing-keys.ts';
import { createUserRepository } from '../../src/store/users.ts';
import { createPostgresDatabase, hasPostgres, openTestDatabase, testRedisUrl } from '../helpers/services.ts';

const BIN = fileURLToPath(new URL('../../bin/stepup.js', import.meta.url));

/** The SECRET_KEY every run of one suite shares (as every node would). */
export const SECRET_KEY = 'cli-test-secret-key-0123456789abcdefghij';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * One suite's database for the `stepup` child processes: a Postgres database of its own, or,
 * without a Postgres server, embedded PGlite in a temporary `DATA_DIR` (one process at a time, so
 * the suite opens it only between runs, through {@link CliBacking.inspect}).
 */
export interface CliBacking {
  /** The environment a run gets: the database, `SECRET_KEY`, and `REDIS_URL` when Redis is there. */
  env: Record<string, string>;
  redisUrl: string | undefined;
  /** Runs `node bin/stepup.js …` with `stdin` piped in; `env` is laid over the suite's. */
  run(args: string[], options?: { stdin?: string; env?: Record<string, string | undefined> }): Promise<RunResult>;
  /** Opens the database, hands it over, and closes it again. */
  inspect<T>(use: (db: Knex, repos: ReturnType<typeof repositories>) => Promise<T>): Promise<T>;
  /** Brings the schema up to date directly (faster than a run, for suites not about `migrate`). */
  migrate(): Promise<void>;
  cleanup(): Promise<void>;
}

function repositories(db: Knex) {
  const box = createSecretBox(deriveKey(SECRET_KEY, 'at-rest'));
  return {
    users: createUserRepository(db),
    clients: createClientRepository(db, box),
    signingKeys: createSigningKeyRepository(db, box),
    audit: createAuditLog(db),
    /** Events of one type, oldest first. */
    async events(type: AuditType): Promise<StoredAuditEvent[]> {
      return (await createAuditLog(db).list({ type, limit: 1000 })).reverse();
    },
  };
}

/** A fresh database (and environment) for one suite. */
export async function createCliBacking(): Promise<CliBacking> {
  const redisUrl = await testRedisUrl();
  let target: DatabaseTarget;
  let databaseEnv: Record<string, string>;
  let drop: () => Promise<void>;
  if (await hasPostgres()) {
    const database = await createPostgresDatabase();
    target = { url: database.url };
    databaseEnv = { DATABASE_URL: database.url };
    drop = () => database.drop();
  } else {
    const dir = await mkdtemp(join(tmpdir(), 'stepup-cli-'));
    target = { pgliteDir: dir };
    databaseEnv = { DATA_DIR: dir };
    drop = () => rm(dir, { recursive: true, force: true });
  }
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    SECRET_KEY,
    ...databaseEnv,
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  };

  const inspect: CliBacking['inspect'] = async (use) => {
    const db = openTestDatabase(target);
    try {
      return await use(db, repositories(db));
    } finally {
      await db.destroy();
    }
  };

  return {
    env,
    redisUrl,
    run: (args, options = {}) => runStepup(args, { env: { ...env, ...options.env }, stdin: options.stdin }),
    inspect,
    migrate: () => inspect(async (db) => void (await migrateToLatest(db))),
    cleanup: drop,
  };
}

/** Runs the real command in a child process, as an operator would. */
export function runStepup(args: string[], options: { env: Record<string, string | undefined>; stdin?: string | undefined }): Promise<RunResult> {
  const env = Object.fromEntries(Object.entries(options.env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {});
    child.stdin.end(options.stdin ?? '');
  });
}
