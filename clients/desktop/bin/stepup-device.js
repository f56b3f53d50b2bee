#!/usr/bin/env node
// The reference device client `stepup-device` (ARCHITECTURE.md): the only place it touches
// `process`; everything else gets argv, the streams and an abort signal as parameters.
import process from 'node:process';

import { main } from '../src/main.ts';

// The state file holds the device's private key: whatever the client creates is the owner's alone.
process.umask(0o077);

// Ctrl-C and SIGTERM stop a wait (listen ends, approve --next fails) instead of killing the process
// mid-write; a second one kills it.
const stop = new globalThis.AbortController();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    stop.abort();
    process.once(signal, () => process.exit(130));
  });
}

process.stdout.on('error', (error) => {
  if (error.code !== 'EPIPE') throw error;
});

process.exitCode = await main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: stop.signal,
});
