import { rm } from 'node:fs/promises';

import { createDeviceApi } from '../api.ts';
import { ClientError, UsageError } from '../errors.ts';
import { generateDeviceKey, importDeviceKey, publicJwk, registrationProof } from '../signing.ts';
import { readState, writeState, type DeviceState } from '../state.ts';
import { readPin, type CommandContext } from './context.ts';

/** What `register` was asked to do. */
export interface RegisterOptions {
  server: string;
  kind: string;
  name: string;
  pairingCode: string;
  pinStdin: boolean;
}

/** The result under `--json`. */
export interface Registered {
  deviceId: string;
  status: 'active';
  userName: string;
  kind: DeviceState['kind'];
  name: string;
}

/**
 * `register`: a new key, `POST /register` with the PIN and the key's proof, then the signed
 * `POST /pair` that consumes the pairing code and activates the device. The state file is written
 * before the server hears of the key, so a file that cannot be written costs nothing; it is
 * removed again if register is refused. A device registered but not paired (the connection broke
 * in between) is paired on the next run with the same state file, pairing code and server.
 */
export async function register(options: RegisterOptions, context: CommandContext): Promise<Registered> {
  const server = serverUrl(options.server);
  if (options.kind !== 'desktop' && options.kind !== 'app') throw new UsageError(`--kind must be desktop or app, not "${options.kind}"`);
  const kind = options.kind;
  // The server normalises what a person types the same way; sending the normal form means the
  // code in the body and the code under the proof's signature are one string.
  const pairingCode = options.pairingCode.toUpperCase().replace(/[\s-]/g, '');

  let state = await readState(context.stateFile);
  if (state?.status === 'active') {
    throw new ClientError('already_registered', `${context.stateFile} already holds a device ("${state.name}", ${state.userName ?? 'paired'}); use another --state file`);
  }
  if (state?.deviceId && state.server !== server) {
    throw new ClientError('already_registered', `${context.stateFile} holds a device registered at ${state.server}, waiting to pair there`);
  }

  if (!state?.deviceId) {
    const pin = await readPin(context, { fromStdin: options.pinStdin, question: `Choose a PIN for "${options.name}": `, confirm: true });
    state = { version: 1, server, kind, name: options.name, privateKey: generateDeviceKey() };
    await writeState(context.stateFile, state);
    try {
      const publicKey = publicJwk(state.privateKey);
      const proof = registrationProof(importDeviceKey(state.privateKey), { pairingCode, publicKey });
      const { deviceId } = await createDeviceApi({ server }).register({ pairingCode, kind, name: options.name, publicKey, pin, proof });
      state = { ...state, deviceId, status: 'pending' };
    } catch (error) {
      await rm(context.stateFile, { force: true });
      throw error;
    }
    await writeState(context.stateFile, state);
  }

  const deviceId = state.deviceId as string;
  const paired = await createDeviceApi({ server }).pair({ deviceId, key: importDeviceKey(state.privateKey) }, pairingCode);
  await writeState(context.stateFile, { ...state, status: 'active', userName: paired.userName });
  context.out.line(`Registered "${state.name}" (${state.kind}) for ${paired.userName}. Device ${deviceId}; its key is in ${context.stateFile}.`);
  return { deviceId, status: 'active', userName: paired.userName, kind: state.kind, name: state.name };
}

/** `--server` as an http(s) base URL with a trailing slash, so the API's paths resolve under its prefix. */
function serverUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--server must be a URL such as https://login.kommune.dk, not "${text}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`--server must be an http(s) URL, not "${text}"`);
  if (url.search || url.hash) throw new UsageError('--server takes no query or fragment');
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.href;
}
