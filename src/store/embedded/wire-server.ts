import { chmod, unlink } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';

import type { PGlite } from '@electric-sql/pglite';

import { turnEnds, type Turns } from './turns.ts';

// Startup-phase request codes (Postgres protocol, "Message Formats", §55.7).
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const SYNC = Uint8Array.of(0x53, 0, 0, 0, 4);

/** A complete frontend message, or one of the startup-phase requests answered here. */
type Frontend =
  | { kind: 'message'; type: string; bytes: Uint8Array }
  | { kind: 'encryption' }
  | { kind: 'cancel' };

/** The embedded server's database socket, for {@link serveWire}'s caller to close. */
export interface WireServer {
  /** Stops accepting, ends every connection (rolling back what it left open), removes the socket. */
  close(): Promise<void>;
}

/**
 * Serves one PGlite instance over a Unix socket to local processes (the `stepup` command), in
 * turns with the server's own queries ({@link Turns}). Written here rather than taken from
 * `@electric-sql/pglite-socket`, whose queue interleaves the messages of different connections
 * between Parse and Sync, cannot take turns with the in-process connection, and hides the
 * notifications its clients cause from PGlite's listeners.
 *
 * Every NotificationResponse the backend sends to a socket client is also passed to
 * `onNotification`: PGlite is one session, so a `NOTIFY` from the `stepup` command is delivered
 * to the connection that sent it, never to the server's in-process listeners.
 */
export async function serveWire(options: {
  pglite: PGlite;
  turns: Turns;
  /** The socket's path; a file left by a process that died is replaced. */
  path: string;
  onNotification: (channel: string, payload: string) => void;
  onError: (error: Error) => void;
}): Promise<WireServer> {
  const { pglite, turns, path } = options;
  const connections = new Set<Promise<void>>();
  const sockets = new Set<Socket>();

  const server = createServer((socket) => {
    sockets.add(socket);
    const done = serveConnection(socket).finally(() => {
      sockets.delete(socket);
      connections.delete(done);
    });
    connections.add(done);
  });

  async function serveConnection(socket: Socket): Promise<void> {
    const me = Symbol('socket connection');
    const backend = createBackendReader(options.onNotification);
    const frontend = createFrontendReader();
    let closed = false;
    let work = Promise.resolve();

    const run = async (message: Frontend) => {
      if (closed) return;
      if (message.kind === 'encryption') return void socket.write('N');
      if (message.kind === 'cancel' || message.type === 'X') return void socket.end();
      await turns.take(me);
      try {
        if (closed) return;
        await pglite.runExclusive(() => pglite.execProtocolRawStream(message.bytes, {
          onRawData: (data) => {
            if (socket.writable) socket.write(Buffer.from(data));
            backend.feed(data);
          },
        }));
      } finally {
        if (closed || turnEnds({ messageType: message.type, inTransaction: pglite.isInTransaction() })) turns.give(me);
      }
    };

    socket.on('data', (chunk) => {
      for (const message of frontend.feed(chunk)) {
        work = work.then(() => run(message)).catch((error: unknown) => {
          options.onError(error as Error);
          socket.destroy();
        });
      }
    });
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('close', resolve));
    closed = true;
    await work;
    // A client that went away mid-query or mid-transaction: end its extended query and roll
    // back what it left open, as Postgres does when a backend's client disconnects.
    await turns.take(me);
    try {
      await pglite.runExclusive(() => pglite.execProtocolRawStream(SYNC, { onRawData: () => {} }));
      if (pglite.isInTransaction()) await pglite.exec('ROLLBACK');
    } catch (error) {
      options.onError(error as Error);
    } finally {
      turns.give(me);
    }
  }

  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  server.on('error', options.onError);

  return {
    async close() {
      const stopped = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await Promise.all([stopped, ...connections]);
      await unlink(path).catch(() => {});
    },
  };
}

/** Splits the client's byte stream into messages: the untyped startup packet first, then typed ones. */
function createFrontendReader() {
  let buffer: Buffer = Buffer.alloc(0);
  let started = false;
  return {
    feed(chunk: Buffer): Frontend[] {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      const messages: Frontend[] = [];
      for (;;) {
        if (!started) {
          if (buffer.length < 8) break;
          const length = buffer.readInt32BE(0);
          if (buffer.length < length) break;
          const code = buffer.readInt32BE(4);
          const bytes = buffer.subarray(0, length);
          buffer = buffer.subarray(length);
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) messages.push({ kind: 'encryption' });
          else if (code === CANCEL_REQUEST) messages.push({ kind: 'cancel' });
          else {
            started = true;
            messages.push({ kind: 'message', type: 'startup', bytes: new Uint8Array(bytes) });
          }
          continue;
        }
        if (buffer.length < 5) break;
        const length = 1 + buffer.readInt32BE(1);
        if (buffer.length < length) break;
        messages.push({ kind: 'message', type: String.fromCharCode(buffer[0] as number), bytes: new Uint8Array(buffer.subarray(0, length)) });
        buffer = buffer.subarray(length);
      }
      return messages;
    },
  };
}

/**
 * Watches the backend's byte stream for NotificationResponse (`A`: pid, channel, payload),
 * skipping every other message without copying it.
 */
function createBackendReader(onNotification: (channel: string, payload: string) => void) {
  let header: Buffer = Buffer.alloc(0);
  let remaining = 0;
  let notification: Buffer[] | undefined;
  return {
    feed(data: Uint8Array) {
      let offset = 0;
      while (offset < data.length) {
        if (remaining === 0) {
          const need = 5 - header.length;
          header = Buffer.concat([header, data.subarray(offset, offset + need)]);
          offset += Math.min(need, data.length - offset);
          if (header.length < 5) return;
          remaining = header.readInt32BE(1) - 4;
          notification = header[0] === 0x41 ? [] : undefined;
          header = Buffer.alloc(0);
        }
        const take = Math.min(remaining, data.length - offset);
        notification?.push(Buffer.from(data.subarray(offset, offset + take)));
        offset += take;
        remaining -= take;
        if (remaining === 0 && notification) {
          const body = Buffer.concat(notification);
          const channelEnd = body.indexOf(0, 4);
          onNotification(body.toString('utf8', 4, channelEnd), body.toString('utf8', channelEnd + 1, body.length - 1));
          notification = undefined;
        }
      }
    },
  };
}
