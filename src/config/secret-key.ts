import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The `SECRET_KEY` to use: the one given, or in embedded mode the one kept in
 * `DATA_DIR/secret-key`, generated on first start. Created with mode 0600 in a 0700 `DATA_DIR`
 * so only the service's user can read it; a key file or directory made before with looser modes
 * is narrowed when read.
 */
export function resolveSecretKey(options: { given: string | undefined; dataDir: string }): {
  key: string;
  generated: boolean;
} {
  if (options.given) return { key: options.given, generated: false };
  const file = join(options.dataDir, 'secret-key');
  try {
    const key = readFileSync(file, 'utf8').trim();
    ownerOnly(options.dataDir, 0o700);
    ownerOnly(file, 0o600);
    return { key, generated: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  // mkdir's mode applies only to a directory it creates; an existing one keeps its own.
  ownerOnly(options.dataDir, 0o700);
  const key = randomBytes(32).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return { key, generated: true };
}

function ownerOnly(path: string, mode: number) {
  if ((statSync(path).mode & 0o777) !== mode) chmodSync(path, mode);
}
