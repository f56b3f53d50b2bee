import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../clients/desktop/bin/stepup-device.js', import.meta.url));

/** A running `stepup-device` (the reference client), a real child process, with what it has written so far. */
export interface DeviceProcess {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout has a line matching `pattern` (throws after 10 s, or when the process ends first). */
  waitFor(pattern: RegExp): Promise<void>;
  exited: Promise<number | null>;
}

/** Starts `stepup-device` with `args`, as a person or a script would. */
export function startDevice(args: string[]): DeviceProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.on('error', () => {});
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited: once(child, 'close').then(([code]) => code as number | null),
    async waitFor(pattern) {
      const deadline = Date.now() + 10_000;
      while (!pattern.test(stdout)) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no ${pattern} in stdout: ${stdout}\nstderr: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/** Runs `stepup-device` to its end with `stdin` piped in. */
export async function runDevice(args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const device = startDevice(args);
  device.child.stdin.end(stdin);
  const code = await device.exited;
  return { code, stdout: device.stdout(), stderr: device.stderr() };
}
