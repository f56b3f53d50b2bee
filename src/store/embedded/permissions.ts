import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Makes `dir` and everything in it the owner's alone: 0700 for directories, 0600 for files and
 * sockets (Postgres refuses a data directory others can read; so do we). Also mends a
 * `DATA_DIR` made before this rule, or by hand. Symbolic links are left alone, not followed.
 */
export async function secureTree(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await secureEntry(dir, true);
}

async function secureEntry(path: string, isDirectory: boolean): Promise<void> {
  const { mode } = await lstat(path);
  const wanted = isDirectory ? 0o700 : 0o600;
  if ((mode & 0o777) !== wanted) await chmod(path, wanted);
  if (!isDirectory) return;
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (entry.isSymbolicLink()) continue;
    await secureEntry(join(path, entry.name), entry.isDirectory());
  }
}
