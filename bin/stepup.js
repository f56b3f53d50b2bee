#!/usr/bin/env node
// The `stepup` admin command (ARCHITECTURE.md). The only place besides src/server.ts that
// touches `process`: everything else gets argv, env and the streams as parameters.
import process from 'node:process';

import { main } from '../src/cli/main.ts';

// What the command creates in an embedded DATA_DIR (PGlite's files, the lock) is the owner's alone.
process.umask(0o077);

// A reader that goes away (`stepup client list | head -1`) is not a failure of the command: it
// finishes, closes the database, and exits with its own status.
process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error;
});

process.exitCode = await main(process.argv.slice(2), process.env, {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});
