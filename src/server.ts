import type { Server } from 'node:http';

import { createIdp, type Idp } from './app.ts';
import { ConfigError, loadConfig } from './config/index.ts';
import { SealedSecretError } from './crypto/secret-box.ts';
import { seedDemo } from './demo/seed.ts';
import { createLogPipe } from './http/log-pipe.ts';
import { settleHeap } from './settle-heap.ts';
import { DataDirBusyError } from './store/embedded/data-dir-lock.ts';
import type { EmbeddedServerStorage } from './store/embedded/server-side.ts';

/**
 * Shutdown deadlines after SIGTERM/SIGINT, from the signal: requests in flight may finish until
 * `cutMs`, then their connections are cut; whatever still hangs, the process exits at `exitMs`,
 * inside the 15 s an orchestrator waits before SIGKILL (issue "Step 3 · Hardening").
 */
const SHUTDOWN = { cutMs: 10_000, exitMs: 14_000 };

/**
 * The standalone server: reads the environment, starts the IdP (in embedded mode on a locked
 * `DATA_DIR` whose database it serves to `stepup` on a Unix socket), and on SIGTERM/SIGINT
 * stops accepting connections, lets requests in flight finish, then closes the pools.
 */
async function main() {
  // Every file the server creates (PGlite's, the lock, the socket) is its owner's alone, as
  // Postgres does with umask 0077.
  process.umask(0o077);
  // A log reader that went away (EPIPE) is no reason to stop serving, or to hang.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  const logPipe = createLogPipe({ fd: 1 });

  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`stepup-idp: configuration error: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const embedded = !config.databaseUrl;
  let idp: Idp | undefined;
  let host: EmbeddedServerStorage | undefined;
  if (embedded) {
    // Imported only here: PGlite is heap a node on Postgres never uses (issue 10's memory goal).
    const { openEmbeddedServer } = await import('./store/embedded/server-side.ts');
    try {
      host = await openEmbeddedServer({ dataDir: config.dataDir, onError: (error) => idp?.logger.warn({ err: error }, 'embedded database socket error') });
    } catch (error) {
      if (error instanceof DataDirBusyError) {
        console.error(`stepup-idp: ${error.message}`);
        process.exit(1);
      }
      throw error;
    }
  }
  try {
    idp = await createIdp({ config, demo: embedded, logDestination: logPipe, ...(host && { database: host.database, shortLived: host.shortLived }) });
  } catch (error) {
    await host?.close();
    if (error instanceof SealedSecretError) {
      // The signing keys load first; the usual cause is a node started with a new SECRET_KEY.
      console.error('stepup-idp: SECRET_KEY does not open the signing keys in the database: they were sealed with another SECRET_KEY. Start every node with the one they were made with.');
      process.exit(1);
    }
    throw error;
  }
  const { logger } = idp;

  if (host) {
    logger.warn({ dataDir: config.dataDir, socket: host.socket }, 'no DATABASE_URL: using embedded PGlite; `stepup` reaches it through the socket');
    const seed = await seedDemo(idp.storage, config);
    if (seed.clientAdded) logger.info({ url: seed.demoUrl }, 'demo relying party added');
    if (seed.userAdded) {
      // Printed once, to the terminal of whoever started a fresh embedded IdP; never logged.
      console.log(`\n  Demo user created: username "${seed.userAdded.username}", password "${seed.userAdded.password}" (shown once)\n  Try a login at ${seed.demoUrl}\n`);
    }
  }

  // Before listening, so that its pause holds up no request.
  settleHeap();
  const server: Server = idp.app.listen(config.port, () => {
    logger.info({ issuer: config.issuer, port: config.port }, 'stepup-idp listening');
  });
  server.keepAliveTimeout = 65_000;
  const management: Server = idp.management.listen(config.managementPort, config.managementHost, () => {
    logger.info({ host: config.managementHost, port: config.managementPort }, 'management listener (metrics, health) listening');
  });
  // A port another process holds is one clear line, as a configuration error is.
  const cannotListen = (variable: string, port: number) => (error: NodeJS.ErrnoException) => {
    console.error(`stepup-idp: cannot listen on ${variable} ${port}: ${error.code ?? error.message}`);
    process.exit(1);
  };
  server.on('error', cannotListen('PORT', config.port));
  management.on('error', cannotListen('MANAGEMENT_PORT', config.managementPort));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), SHUTDOWN.exitMs).unref();
    const cut = setTimeout(() => server.closeAllConnections(), SHUTDOWN.cutMs);
    cut.unref();
    // The management listener goes first: a scrape during shutdown has nothing to wait for.
    management.close();
    management.closeAllConnections();
    server.close(async () => {
      clearTimeout(cut);
      try {
        await idp.close();
        await host?.close();
        logger.info('stopped');
      } catch (error) {
        logger.error({ err: error }, 'closing failed');
      }
      await logPipe.flush(1_000);
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();
