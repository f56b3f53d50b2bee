import { connect } from 'node:net';
import { resolve } from 'node:path';

import type { DatabaseTarget } from '../database.ts';
import { DataDirBusyError, describeHolder, lockDataDir, processAlive, type LockHolder } from './data-dir-lock.ts';
import { createRelayStore, type RelayStore } from './notices.ts';
import { secureTree } from './permissions.ts';

/** How a `stepup` command reaches an embedded `DATA_DIR`. */
export type EmbeddedAccess =
  | {
    /** No server runs: the command holds `DATA_DIR` and opens PGlite itself. */
    via: 'data-dir';
    database: DatabaseTarget;
    release(): void;
  }
  | {
    /** The server holds `DATA_DIR`: the command uses its database through the socket. */
    via: 'server';
    server: LockHolder;
    database: DatabaseTarget;
    /** Carries the command's short-lived writes and events to the server's memory. */
    shortLived: RelayStore;
    release(): void;
  };

/** The server holds `DATA_DIR` but its socket does not answer. */
export class ServerUnreachableError extends Error {
  constructor(server: LockHolder) {
    super(`cannot reach ${describeHolder(server)} at ${server.socket ?? 'its socket'}; nothing was changed`);
    this.name = 'ServerUnreachableError';
  }
}

/**
 * Opens an embedded `DATA_DIR` for one `stepup` command: through the running server when it
 * holds the lock (so the change takes effect there at once), else by taking the lock for the
 * command's duration. Throws `DataDirBusyError` when another command holds it, and
 * {@link ServerUnreachableError} when the server's socket does not answer within `waitMs` (it
 * may still be starting).
 */
export async function openEmbeddedForCommand(options: { dataDir: string; waitMs?: number }): Promise<EmbeddedAccess> {
  const dataDir = resolve(options.dataDir);
  await secureTree(dataDir);
  let server: LockHolder;
  try {
    const lock = lockDataDir({ dataDir, role: 'command' });
    return { via: 'data-dir', database: { pgliteDir: dataDir }, release: () => lock.release() };
  } catch (error) {
    if (!(error instanceof DataDirBusyError) || error.holder.role !== 'server' || !error.holder.socket) throw error;
    server = error.holder;
  }
  await waitForSocket(server, options.waitMs ?? 15_000);
  return {
    via: 'server',
    server,
    database: { socket: server.socket as string },
    shortLived: createRelayStore({ server }),
    release: () => {},
  };
}

async function waitForSocket(server: LockHolder, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (await answers(server.socket as string)) return;
    if (Date.now() > deadline || !processAlive(server.pid)) throw new ServerUnreachableError(server);
    await new Promise((done) => setTimeout(done, 100));
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}
