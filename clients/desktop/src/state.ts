// The state file (`--state FILE`): the device's private key and what the server said about it.
// It is the device's identity, so it is the owner's alone (mode 0600) and never holds the PIN.
import { randomBytes } from 'node:crypto';
import { chmod, open, readFile, rename, rm, stat } from 'node:fs/promises';

import { ClientError } from './errors.ts';
import type { PrivateJwk } from './signing.ts';

/** What the file holds. `deviceId` arrives with register, `active` and `userName` with pair. */
export interface DeviceState {
  version: 1;
  /** The server's base URL as given to `register`, with a trailing slash. */
  server: string;
  kind: 'desktop' | 'app';
  name: string;
  privateKey: PrivateJwk;
  deviceId?: string;
  status?: 'pending' | 'active';
  userName?: string;
}

/** Reads the state file; `undefined` if there is none. Refuses one that others may read, as ssh does. */
export async function readState(file: string): Promise<DeviceState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ClientError('state_file', `cannot read the state file ${file}: ${(error as Error).message}`, { cause: error });
  }
  // Windows has no mode bits to check.
  if (process.platform !== 'win32') {
    const { mode } = await stat(file);
    if (mode & 0o077) {
      throw new ClientError('state_file', `the state file ${file} holds a private key but others may read it (mode ${(mode & 0o777).toString(8)}): chmod 600 it`);
    }
  }
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch (error) {
    throw new ClientError('state_file', `the state file ${file} is not JSON`, { cause: error });
  }
  if (!isDeviceState(state)) throw new ClientError('state_file', `the state file ${file} is not a stepup-device state file`);
  return state;
}

/** Reads the state of a device that finished pairing, or says which command is missing. */
export async function readActiveState(file: string): Promise<DeviceState & { deviceId: string }> {
  const state = await readState(file);
  if (!state) throw new ClientError('not_registered', `no device in ${file}: run \`stepup-device register\` first`);
  if (state.status !== 'active' || !state.deviceId) {
    throw new ClientError('not_registered', `the device in ${file} did not finish pairing: run \`stepup-device register\` again`);
  }
  return state as DeviceState & { deviceId: string };
}

/**
 * Writes the state file whole or not at all: a temporary file beside it, created 0600, then
 * renamed over it, so a crash never leaves half a key or a moment where the key is readable.
 */
export async function writeState(file: string, state: DeviceState): Promise<void> {
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(state, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The umask can only take bits away from 0600; this is for file systems that ignore it.
    await chmod(temporary, 0o600);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new ClientError('state_file', `cannot write the state file ${file}: ${(error as Error).message}`, { cause: error });
  }
}

function isDeviceState(value: unknown): value is DeviceState {
  const state = value as Partial<DeviceState> | null;
  return typeof state === 'object' && state !== null && state.version === 1 && typeof state.server === 'string'
    && (state.kind === 'desktop' || state.kind === 'app') && typeof state.name === 'string'
    && typeof state.privateKey === 'object' && state.privateKey !== null && typeof state.privateKey.d === 'string';
}
