import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The `SECRET_KEY` to use: the one given, or in embedded mode the one kept in
 * `DATA_DIR/secret-key`, generated on first start. Created with mode 0600 so only the
 * service's user can read it.
 */
export function resolveSecretKey(options: { given: string | undefined; dataDir: string }): {
  key: string;
  generated: boolean;
} {
  if (options.given) return { key: options.given, generated: false };
  const file = join(options.dataDir, 'secret-key');
  try {
    return { key: readFileSync(file, 'utf8').trim(), generated: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return { key, generated: true };
}
