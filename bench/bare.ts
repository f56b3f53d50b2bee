import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

import { freePort } from '../test/server/spawn.ts';

const SCRIPT = fileURLToPath(new URL('./bare-provider.ts', import.meta.url));

/** A running bare oidc-provider (bench/bare-provider.ts). */
export interface BareProvider {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts bare oidc-provider in a process of its own and waits until it listens. */
export async function startBare(): Promise<BareProvider> {
  const port = await freePort();
  const child = spawn(process.execPath, [SCRIPT], { env: { PATH: process.env.PATH ?? '', PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stdout.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      if (chunk.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`bare oidc-provider exited (${code}): ${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
