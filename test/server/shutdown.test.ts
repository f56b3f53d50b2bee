import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { createPostgresDatabase, hasPostgres, testRedisUrl } from '../helpers/services.ts';
import { startServer } from './spawn.ts';

/** The longest an orchestrator waits after SIGTERM before SIGKILL (issue "Step 3 · Hardening"). */
const DEADLINE_MS = 15_000;

/** The environments of the modes the server runs in: embedded, and Postgres with Redis when they answer. */
async function modes(): Promise<Array<{ name: string; env: Record<string, string>; cleanup(): Promise<void> }>> {
  const found: Array<{ name: string; env: Record<string, string>; cleanup(): Promise<void> }> = [{ name: 'embedded', env: { DATA_DIR: mkdtempSync(join(tmpdir(), 'stepup-stop-')) }, cleanup: async () => {} }];
  const redisUrl = await testRedisUrl();
  if ((await hasPostgres()) && redisUrl) {
    const database = await createPostgresDatabase();
    found.push({ name: 'Postgres and Redis', env: { DATABASE_URL: database.url, REDIS_URL: redisUrl, SECRET_KEY: 'shutdown-test-secret-key-0123456789abcdef' }, cleanup: () => database.drop() });
  }
  return found;
}

async function requests(url: string, count: number, concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      next += 1;
      await fetch(`${url}/healthz`).then((response) => response.arrayBuffer()).catch(() => {});
    }
  }));
}

describe('server shutdown', function () {
  this.timeout(120_000);

  it(`exits within ${DEADLINE_MS / 1000} s of SIGTERM after its log reader went away (EPIPE), in every mode`, async () => {
    for (const mode of await modes()) {
      const server = await startServer({ ...mode.env, LOG_LEVEL: 'info' });
      try {
        await server.ready();
        server.child.stdout?.destroy();
        await requests(server.url, 50, 5);
        const stopped = await server.stop(DEADLINE_MS + 5_000);
        expect({ mode: mode.name, ...stopped, ms: stopped.ms < DEADLINE_MS }).to.deep.equal({ mode: mode.name, code: 0, signal: null, ms: true });
      } finally {
        await server.stop();
        await mode.cleanup();
      }
    }
  });

  it(`exits within ${DEADLINE_MS / 1000} s of SIGTERM while its log reader has stopped reading (a full pipe)`, async () => {
    const server = await startServer({ DATA_DIR: mkdtempSync(join(tmpdir(), 'stepup-stop-')), LOG_LEVEL: 'info' });
    await server.ready();
    server.child.stdout?.pause();
    // About 100 bytes a line: far more than a pipe's buffer.
    await requests(server.url, 6_000, 20);
    const stopped = await server.stop(DEADLINE_MS + 5_000);
    expect(stopped.signal).to.equal(null);
    expect(stopped.ms).to.be.below(DEADLINE_MS);
  });

  it(`exits within ${DEADLINE_MS / 1000} s of SIGTERM with a request in flight, cutting it at the deadline`, async () => {
    const server = await startServer({ DATA_DIR: mkdtempSync(join(tmpdir(), 'stepup-stop-')) });
    await server.ready();
    const { port } = new URL(server.url);
    // A request whose body never finishes arriving.
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /interaction/x/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nusername=');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stopped = await server.stop(DEADLINE_MS + 5_000);
    socket.destroy();
    expect(stopped.signal).to.equal(null);
    expect(stopped.code).to.equal(0);
    expect(stopped.ms).to.be.below(DEADLINE_MS);
  });
});
