import { write } from 'node:fs';

/** Where the standalone server's log lines go: a pino destination that never blocks or throws. */
export interface LogPipe {
  /** Queues a line; dropped when the reader is gone or too far behind. */
  write(line: string): void;
  /** Resolves when every queued line is written, or after `timeoutMs`, whichever is first. */
  flush(timeoutMs: number): Promise<void>;
}

/**
 * Writes log lines to a file descriptor (stdout) off the main thread, so a reader that stops
 * reading cannot block the process and one that went away (EPIPE) cannot crash it: the issue
 * "Step 3 · Hardening" saw servers ignore SIGTERM for minutes, their main thread stuck in a
 * synchronous write to a full pipe. Lines beyond `maxQueuedBytes` waiting for a slow reader are
 * dropped rather than held without bound.
 */
export function createLogPipe(options: { fd: number; maxQueuedBytes?: number }): LogPipe {
  const { fd } = options;
  const maxQueuedBytes = options.maxQueuedBytes ?? 8 * 1024 * 1024;
  let queue: Buffer[] = [];
  let queuedBytes = 0;
  let writing = false;
  let broken = false;
  let idle: Array<() => void> = [];

  const settle = () => {
    const waiting = idle;
    idle = [];
    for (const resolve of waiting) resolve();
  };
  const pump = () => {
    if (writing) return;
    if (broken || queue.length === 0) return settle();
    const chunk = queue.length === 1 ? (queue[0] as Buffer) : Buffer.concat(queue);
    queue = [];
    writing = true;
    write(fd, chunk, 0, chunk.length, null, (error, written) => {
      writing = false;
      if (error?.code === 'EAGAIN') {
        // A non-blocking pipe that is full: try again shortly, without holding the process open.
        queue.unshift(chunk);
        setTimeout(pump, 50).unref();
        return;
      }
      if (error) {
        // EPIPE (the reader went away) or worse: nobody will read these lines.
        broken = true;
        queue = [];
        queuedBytes = 0;
        return settle();
      }
      queuedBytes -= written;
      if (written < chunk.length) queue.unshift(chunk.subarray(written));
      pump();
    });
  };

  return {
    write(line) {
      if (broken) return;
      const bytes = Buffer.from(line);
      if (queuedBytes + bytes.length > maxQueuedBytes) return;
      queue.push(bytes);
      queuedBytes += bytes.length;
      pump();
    },
    flush(timeoutMs) {
      if (!writing && queue.length === 0) return Promise.resolve();
      return new Promise((resolve) => {
        idle.push(resolve);
        setTimeout(resolve, timeoutMs).unref();
      });
    },
  };
}
