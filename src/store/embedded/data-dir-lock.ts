import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The lock file's name inside `DATA_DIR`, after Postgres's `postmaster.pid`. */
export const LOCK_FILE = 'server.pid';

/** Who holds a `DATA_DIR`: what the lock file says. */
export interface LockHolder {
  pid: number;
  /** `server` serves the database to other processes on `socket`; a `command` serves no one. */
  role: 'server' | 'command';
  /** The Unix socket the server serves its database on. */
  socket?: string | undefined;
  /** ISO time the holder took the lock. */
  startedAt: string;
}

/** What to do about an existing lock file. */
export type LockVerdict = { verdict: 'held' } | { verdict: 'stale'; reason: 'dead' | 'own-pid' };

/**
 * Whether a lock file still holds: it does while its process lives. A pid equal to our own is
 * stale too, since a process that held it before a restart can have been given the same pid
 * (a container's pid 1, say), as Postgres reasons in `CreateLockFile`.
 */
export function judgeLock(options: { holder: LockHolder; holderAlive: boolean; ownPid: number }): LockVerdict {
  if (options.holder.pid === options.ownPid) return { verdict: 'stale', reason: 'own-pid' };
  return options.holderAlive ? { verdict: 'held' } : { verdict: 'stale', reason: 'dead' };
}

/** `DATA_DIR` is held by a live process; `holder` says which. */
export class DataDirBusyError extends Error {
  readonly holder: LockHolder;

  constructor(dataDir: string, holder: LockHolder) {
    super(`${dataDir} is in use by ${describeHolder(holder)}`);
    this.name = 'DataDirBusyError';
    this.holder = holder;
  }
}

/** "the stepup-idp server (pid 123, since …)", for one-line messages. */
export function describeHolder(holder: LockHolder): string {
  return `${holder.role === 'server' ? 'the stepup-idp server' : 'another stepup command'} (pid ${holder.pid}, since ${holder.startedAt})`;
}

/** A held lock on a `DATA_DIR`. */
export interface DataDirLock {
  readonly holder: LockHolder;
  /** Removes the lock file if it is still ours. */
  release(): void;
}

/** Whether a process with this pid exists (`kill -0`; EPERM means it exists but is not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock file's holder, or undefined when there is none. Throws on a file that is not a lock. */
export function readLockHolder(dataDir: string): LockHolder | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, LOCK_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const holder = parseHolder(text);
  if (!holder) throw new Error(`${join(dataDir, LOCK_FILE)} is not a stepup lock file; remove it if no stepup process uses ${dataDir}`);
  return holder;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (!Number.isSafeInteger(value.pid) || (value.pid as number) <= 0) return undefined;
    if (value.role !== 'server' && value.role !== 'command') return undefined;
    return { pid: value.pid as number, role: value.role, socket: value.socket, startedAt: String(value.startedAt) };
  } catch {
    return undefined;
  }
}

/**
 * Takes the exclusive lock on `dataDir` (ARCHITECTURE.md, "Where state lives": exactly one
 * process opens a `DATA_DIR`), or throws {@link DataDirBusyError} naming the live holder. A lock
 * left by a process that died is taken over.
 *
 * The file is written in full under a temporary name and then linked into place: `link` fails
 * when the name exists, so the lock is created exclusively (like `O_EXCL`) and is never seen
 * half-written.
 */
export function lockDataDir(options: {
  dataDir: string;
  role: LockHolder['role'];
  socket?: string;
  /** Defaults to `process.pid`. */
  pid?: number;
  /** Defaults to {@link processAlive}. */
  isAlive?: (pid: number) => boolean;
  /** Defaults to the current time. */
  now?: () => number;
}): DataDirLock {
  const pid = options.pid ?? process.pid;
  const isAlive = options.isAlive ?? processAlive;
  const file = join(options.dataDir, LOCK_FILE);
  const holder: LockHolder = { pid, role: options.role, socket: options.socket, startedAt: new Date((options.now ?? Date.now)()).toISOString() };
  const temporary = `${file}.${pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temporary, `${JSON.stringify(holder)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    // Two rounds: the second follows the removal of a stale lock. Losing that race to another
    // process taking over the same stale lock ends in DataDirBusyError naming the winner.
    for (let round = 0; ; round += 1) {
      try {
        linkSync(temporary, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const existing = readLockHolder(options.dataDir);
      if (!existing) continue;
      const { verdict } = judgeLock({ holder: existing, holderAlive: isAlive(existing.pid), ownPid: pid });
      if (verdict === 'held' || round > 0) throw new DataDirBusyError(options.dataDir, existing);
      unlinkSync(file);
    }
  } finally {
    unlinkSync(temporary);
  }
  return {
    holder,
    release() {
      try {
        if (readLockHolder(options.dataDir)?.pid === pid) unlinkSync(file);
      } catch {
        // Already gone, or replaced by a file that is not ours: nothing of ours to remove.
      }
    },
  };
}
