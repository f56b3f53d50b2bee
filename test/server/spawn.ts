import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url));

/** A real `node src/server.ts` child process, as an operator starts it. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code when the process exits by itself. */
  exited: Promise<number | null>;
  /** Polls /readyz until it answers 200 (throws after `timeoutMs`, or if the process exits). */
  ready(timeoutMs?: number): Promise<void>;
  /** Sends SIGTERM and resolves with the exit code and how long it took; SIGKILLs after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/** A port nobody listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts the server with `env` (PATH is passed through; PORT and ISSUER are chosen unless given). */
export async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', PORT: String(port), ISSUER: url, MANAGEMENT_PORT: String(await freePort()), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exit = once(child, 'exit');
  return {
    child,
    url,
    output: () => output,
    exited: exit.then(([code]) => code as number | null),
    async ready(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}): ${output}`);
        const response = await fetch(`${url}/readyz`).catch(() => undefined);
        if (response?.ok) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`the server did not become ready: ${output}`);
    },
    async stop(timeoutMs = 20_000) {
      const started = Date.now();
      if (child.exitCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const [code, signal] = (await exit) as [number | null, NodeJS.Signals | null];
      clearTimeout(killer);
      return { code, signal, ms: Date.now() - started };
    },
  };
}
