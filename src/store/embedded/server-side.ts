import { join, resolve } from 'node:path';

import { PGlite } from '@electric-sql/pglite';

import type { DatabaseTarget, LentPglite } from '../database.ts';
import { createMemoryStore } from '../short-lived/memory.ts';
import type { ShortLivedStore } from '../short-lived/types.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { applyNotice, NOTICE_CHANNEL } from './notices.ts';
import { secureTree } from './permissions.ts';
import { socketPath } from './socket-path.ts';
import { createTurns } from './turns.ts';
import { serveWire } from './wire-server.ts';

/** What the embedded server runs on: pass `database` and `shortLived` to `createIdp`. */
export interface EmbeddedServerStorage {
  database: DatabaseTarget;
  /** The in-process store, which also applies the notices `stepup` commands send. */
  shortLived: ShortLivedStore;
  /** Where `stepup` commands reach the database. */
  socket: string;
  /** Stops serving the socket, closes PGlite and releases `DATA_DIR`; after the IdP has closed. */
  close(): Promise<void>;
}

/**
 * Opens `DATA_DIR` for the embedded server (ARCHITECTURE.md, "Where state lives"): makes it the
 * owner's alone, takes its lock (throws `DataDirBusyError` naming a live holder), opens PGlite,
 * and serves it on a Unix socket in `DATA_DIR` to `stepup` commands, which take turns with the
 * server's own queries and reach its memory store through notices.
 */
export async function openEmbeddedServer(options: { dataDir: string; onError: (error: Error) => void }): Promise<EmbeddedServerStorage> {
  const dataDir = resolve(options.dataDir);
  const socket = socketPath(dataDir);
  await secureTree(dataDir);
  const lock = lockDataDir({ dataDir, role: 'server', socket });
  let pglite: PGlite | undefined;
  try {
    pglite = new PGlite(join(dataDir, 'pg'));
    await pglite.waitReady;
    // PGlite's own files, including those of a directory made before the owner-only rule.
    await secureTree(dataDir);
    const db = pglite;
    const turns = createTurns();
    const shortLived = createMemoryStore();
    // The one backend LISTENs, so a command's NOTIFY comes back in its own connection's stream,
    // where the wire server picks it up.
    await db.exec(`LISTEN ${NOTICE_CHANNEL}`);
    const wire = await serveWire({
      pglite: db,
      turns,
      path: socket,
      onNotification: (channel, payload) => {
        if (channel === NOTICE_CHANNEL) applyNotice(shortLived, payload).catch(options.onError);
      },
      onError: options.onError,
    });
    const server = Symbol('server');
    const lent: LentPglite = {
      waitReady: db.waitReady,
      async query(sql, params, queryOptions) {
        await turns.take(server);
        try {
          return await db.query(sql, params, queryOptions);
        } finally {
          if (!db.isInTransaction()) turns.give(server);
        }
      },
      // Closed below, after the socket, never by knex.
      async close() {},
    };
    return {
      database: { pglite: lent },
      shortLived,
      socket,
      async close() {
        await wire.close();
        await db.close();
        lock.release();
      },
    };
  } catch (error) {
    await pglite?.close().catch(() => {});
    lock.release();
    throw error;
  }
}
