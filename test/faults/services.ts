import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Redis } from 'ioredis';
import knex from 'knex';

import { freePort } from '../server/spawn.ts';

/**
 * A Redis and a Postgres of the fault battery's own, which it may stop, kill and restart: never
 * the machine's shared servers (127.0.0.1:5432 and :6379), which every other suite uses. Each
 * lives on a spare port, Postgres in a cluster in a temporary directory; `stop()` removes all.
 */

/** What the battery needs on the machine, or why it cannot run. */
export function faultServicesMissing(): string | undefined {
  if (!onPath('redis-server')) return 'redis-server is not installed (apt-get install redis-server)';
  if (!postgresBin()) return 'Postgres server binaries (initdb, pg_ctl) are not installed (apt-get install postgresql)';
  if (process.getuid?.() === 0 && !onPath('runuser')) return 'running as root, but runuser is missing to run Postgres as the postgres user';
  return undefined;
}

/**
 * Skips the suite with a notice when the servers cannot be started here, or fails under
 * `STEPUP_REQUIRE_SERVICES=1` (CI), as the other suites do for a missing Postgres or Redis.
 */
export function requireFaultServices(suite: Mocha.Context): void {
  const missing = faultServicesMissing();
  if (!missing) return;
  if (process.env.STEPUP_REQUIRE_SERVICES === '1') throw new Error(`STEPUP_REQUIRE_SERVICES=1 but the fault battery cannot run: ${missing}`);
  console.log(`  (notice: fault battery skipped: ${missing})`);
  suite.skip();
}

/** A Redis server process of the test's own. */
export interface OwnRedis {
  url: string;
  port: number;
  /** Starts it again on the same port (empty: no persistence) and waits until it answers. */
  start(): Promise<void>;
  /** SIGKILLs it, as a crash does, and waits for the process to end. */
  kill(): Promise<void>;
  /** Runs one command on a connection of its own (`CONFIG SET …`, `DEBUG SLEEP …`). */
  command(...args: string[]): Promise<unknown>;
  /** Kills it for good. */
  stop(): Promise<void>;
}

/** Starts `redis-server` on a spare port, without persistence, with DEBUG allowed from loopback. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--enable-debug-command', 'local'], { stdio: 'ignore' });
    children.add(child);
    await waitFor(`Redis on ${port}`, 10_000, () => redisAnswers(url));
  };
  const kill = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGKILL');
    await exited;
    children.delete(running);
  };
  await start();
  return {
    url,
    port,
    start,
    kill,
    async command(...args) {
      const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      redis.on('error', () => {});
      try {
        await redis.connect();
        return await redis.call(args[0] as string, ...args.slice(1));
      } finally {
        redis.disconnect();
      }
    },
    stop: kill,
  };
}

/** A Postgres cluster of the test's own, in a temporary directory. */
export interface OwnPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  url: string;
  port: number;
  /** `pg_ctl start`, waiting until it accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl stop -m fast`: sessions are ended (57P01) and the server shuts down cleanly. */
  stopServer(): Promise<void>;
  /** Stops the server for good and removes the cluster. */
  stop(): Promise<void>;
}

/**
 * `initdb` and `pg_ctl` a cluster in a temporary directory (as the `postgres` user when the tests
 * run as root, as Postgres refuses root), listening on 127.0.0.1 at a spare port with its socket
 * in that directory. fsync is off: the battery restarts the server cleanly, never the machine.
 */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const bin = postgresBin() as string;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'stepup-faults-pg-'));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) chownSync(dir, postgresUid(), postgresGid());
  // Asynchronous, so the logins a test runs meanwhile keep going while the server stops and starts.
  const run = async (tool: string, args: string[]) => {
    const command = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', join(bin, tool), ...args] : [join(bin, tool), ...args];
    const child = spawn(command[0] as string, command.slice(1), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const [code] = (await once(child, 'close')) as [number | null];
    if (code !== 0) throw new Error(`${tool} ${args.join(' ')} failed (${code}): ${output}`);
  };
  const pgCtl = (args: string[]) => run('pg_ctl', ['-D', data, ...args]);
  await run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '--no-instructions']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const start = async () => {
    await pgCtl(['-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '30', 'start']);
    clusters.add(data);
    await waitFor(`Postgres on ${port}`, 10_000, () => postgresAnswers(url));
  };
  const stopServer = async () => {
    await pgCtl(['-m', 'fast', '-w', '-t', '30', 'stop']);
    clusters.delete(data);
  };
  await start();
  return {
    url,
    port,
    start,
    stopServer,
    async stop() {
      if (clusters.has(data)) await stopServer();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` every 50 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

/** Children and clusters still running, stopped when the test process exits whatever happened. */
const children = new Set<ChildProcess>();
const clusters = new Set<string>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  for (const data of clusters) {
    const bin = postgresBin() as string;
    const args = [join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'];
    const command = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...args] : args;
    spawnSync(command[0] as string, command.slice(1), { stdio: 'ignore' });
  }
});

async function redisAnswers(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

async function postgresAnswers(url: string): Promise<boolean> {
  const silent = () => {};
  const db = knex({ client: 'pg', connection: { connectionString: url, connectionTimeoutMillis: 500 }, log: { warn: silent, error: silent, deprecate: silent, debug: silent } });
  try {
    await db.raw('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await db.destroy();
  }
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, command)));
}

/** The newest /usr/lib/postgresql/<version>/bin with initdb and pg_ctl (Debian's layout). */
function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a));
  return versions.map((version) => join(root, version, 'bin')).find((bin) => existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl')));
}

function postgresUid(): number {
  return Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
}

function postgresGid(): number {
  return Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
}
