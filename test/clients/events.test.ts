import { expect } from 'chai';

import { createDeviceApi, type DeviceApi, type DeviceIdentity } from '../../clients/desktop/src/api.ts';
import { watchChallenges } from '../../clients/desktop/src/events.ts';
import { generateDeviceKey, importDeviceKey, publicJwk, registrationProof } from '../../clients/desktop/src/signing.ts';
import { startFakeDeviceServer, type FakeDeviceServer } from './fake-device-server.ts';

/** A paired device of the fake, made in-process with the client's own modules. */
async function pairedDevice(server: FakeDeviceServer): Promise<{ api: DeviceApi; identity: DeviceIdentity }> {
  server.addPairingCode('ABCDE23456', { userName: 'anna', kind: 'desktop' });
  const jwk = generateDeviceKey();
  const key = importDeviceKey(jwk);
  const api = createDeviceApi({ server: server.url });
  const publicKey = publicJwk(jwk);
  const { deviceId } = await api.register({
    pairingCode: 'ABCDE23456', kind: 'desktop', name: 'pc', publicKey, pin: '2580',
    proof: registrationProof(key, { pairingCode: 'ABCDE23456', publicKey }),
  });
  await api.pair({ deviceId, key }, 'ABCDE23456');
  return { api, identity: { deviceId, key } };
}

describe('stepup-device event stream', () => {
  let server: FakeDeviceServer | undefined;
  afterEach(async () => server?.close());

  /** Holds the stream for `ms` and tells how many connections it made and what it noticed. */
  async function holdFor(ms: number, options: { heartbeatMs: number; silenceTimeoutMs: number }) {
    server = await startFakeDeviceServer({ retryMs: 20, heartbeatMs: options.heartbeatMs });
    const device = await pairedDevice(server);
    const notices: string[] = [];
    const end = await watchChallenges({
      ...device,
      signal: AbortSignal.timeout(ms),
      silenceTimeoutMs: options.silenceTimeoutMs,
      onChallenge: () => {},
      onNotice: (text) => notices.push(text),
    });
    return { end, connections: server.eventConnections(), notices };
  }

  it('keeps a connection the server fills with heartbeats', async () => {
    const held = await holdFor(800, { heartbeatMs: 50, silenceTimeoutMs: 300 });
    expect(held).to.deep.equal({ end: 'aborted', connections: 1, notices: [] });
  });

  it('counts a silent connection as lost and opens a new one', async () => {
    const held = await holdFor(800, { heartbeatMs: 3_600_000, silenceTimeoutMs: 300 });
    expect(held.end).to.equal('aborted');
    expect(held.connections).to.be.within(2, 3);
    expect(held.notices[0]).to.equal('lost the event stream (nothing heard for 0.3 s); reconnecting in 0.02 s');
  });

  it('fails at once when the server refuses the stream, as it does a revoked device', async () => {
    server = await startFakeDeviceServer();
    const device = await pairedDevice(server);
    const [stored] = server.devices.values();
    if (stored) stored.status = 'revoked';
    const watching = watchChallenges({ ...device, signal: AbortSignal.timeout(5000), onChallenge: () => {}, onNotice: () => {} });
    const error = await watching.then(() => undefined, (failure: unknown) => failure);
    expect(error).to.include({ code: 'device_revoked', status: 401 });
    expect(server.eventConnections()).to.equal(0);
  });
});
