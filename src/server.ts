import type { Server } from 'node:http';

import { createIdp } from './app.ts';
import { ConfigError, loadConfig } from './config/index.ts';
import { seedDemo } from './demo/seed.ts';

/**
 * The standalone server: reads the environment, starts the IdP, and on SIGTERM/SIGINT stops
 * accepting connections, lets requests in flight finish, then closes the pools.
 */
async function main() {
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
  const idp = await createIdp({ config, demo: embedded });
  const { logger } = idp;

  if (embedded) {
    logger.warn({ dataDir: config.dataDir }, 'no DATABASE_URL: using embedded PGlite; run one process only');
    const seed = await seedDemo(idp.storage, config);
    if (seed) {
      // Printed once, to the terminal of whoever started a fresh embedded IdP; never logged.
      console.log(`\n  Demo user created: username "${seed.username}", password "${seed.password}" (shown once)\n  Try a login at ${seed.demoUrl}\n`);
    }
  }

  const server: Server = idp.app.listen(config.port, () => {
    logger.info({ issuer: config.issuer, port: config.port }, 'stepup-idp listening');
  });
  server.keepAliveTimeout = 65_000;

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    server.close(async () => {
      await idp.close();
      logger.info('stopped');
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();
