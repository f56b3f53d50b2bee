import { createPrivateKey, type JsonWebKey } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import type { Idp } from '../../src/app.ts';
import type { DevicePublicKey } from '../../src/store/devices.ts';
import { runDevice } from '../helpers/stepup-device.ts';
import { pairingCodeFor, TestDevice } from './device-client.ts';


/** The desktop PIN the tests register with. */
export const DESKTOP_PIN = '2580';
/** The app PIN the tests register with (an app's PIN has 6 digits). */
export const APP_PIN = '258046';

/** A desktop client or app registered and paired by the reference client, with its state file. */
export interface ReferenceDevice {
  deviceId: string;
  state: string;
  /** `approve --next --pin-stdin`, started now; answers the oldest waiting challenge or the next one. */
  approveNext(pin?: string, extra?: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  rejectNext(): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** The same device for hand-made signed requests (its key read from the state file). */
  signer(url: string): Promise<TestDevice>;
}

/** Registers a desktop client for `user` with a pairing code from the device service, as IT's `stepup device pair` gives it. */
export function registerDesktop(idp: Pick<Idp, 'storage'>, server: string, user: { id: string; username: string }, name = 'Kontor-pc'): Promise<ReferenceDevice> {
  return registerReferenceDevice(idp, server, user, { kind: 'desktop', name, pin: DESKTOP_PIN });
}

/** Registers an app for `user` the same way (`--kind app`, a 6-digit PIN). */
export function registerApp(idp: Idp, server: string, user: { id: string; username: string }, name = 'Telefon'): Promise<ReferenceDevice> {
  return registerReferenceDevice(idp, server, user, { kind: 'app', name, pin: APP_PIN });
}

async function registerReferenceDevice(idp: Pick<Idp, 'storage'>, server: string, user: { id: string; username: string }, device: { kind: 'desktop' | 'app'; name: string; pin: string }): Promise<ReferenceDevice> {
  const code = await pairingCodeFor(idp, user, device.kind);
  const state = join(await mkdtemp(join(tmpdir(), 'stepup-device-')), 'device.json');
  const registered = await runDevice(['register', '--server', server, '--kind', device.kind, '--name', device.name, '--pairing-code', code, '--pin-stdin', '--state', state], `${device.pin}\n`);
  expect(registered.code, registered.stderr).to.equal(0);
  const { deviceId } = JSON.parse(await readFile(state, 'utf8')) as { deviceId: string };
  return {
    deviceId,
    state,
    approveNext: (pin = device.pin, extra = []) => runDevice(['approve', '--next', '--pin-stdin', '--timeout', '15', '--state', state, ...extra], `${pin}\n`),
    rejectNext: () => runDevice(['reject', '--next', '--timeout', '15', '--state', state]),
    async signer(url) {
      const { privateKey: jwk } = JSON.parse(await readFile(state, 'utf8')) as { privateKey: JsonWebKey & DevicePublicKey };
      const signing = new TestDevice(url, { privateKey: createPrivateKey({ key: jwk, format: 'jwk' }), publicKey: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y } });
      signing.deviceId = deviceId;
      return signing;
    },
  };
}
