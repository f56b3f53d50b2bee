import { join } from 'node:path';

/**
 * The embedded server's socket in `dataDir`, named as libpq names a server's socket in its
 * socket directory, so a Postgres client given `host=<dataDir>` finds it (port 5432).
 */
export function socketPath(dataDir: string): string {
  const path = join(dataDir, '.s.PGSQL.5432');
  // sockaddr_un holds 108 bytes with the terminating NUL (unix(7)); a longer path cannot be bound.
  if (Buffer.byteLength(path) > 107) throw new Error(`DATA_DIR is too long a path for its Unix socket (${path}); use a shorter one`);
  return path;
}
