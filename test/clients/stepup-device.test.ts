import { mkdtemp, readFile, rm, stat, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { runDevice, startDevice } from '../helpers/stepup-device.ts';
import { startFakeDeviceServer, type FakeDeviceServer } from './fake-device-server.ts';

const PIN = '2580';

describe('stepup-device (the reference desktop client) against a strict fake device API', () => {
  let server: FakeDeviceServer;
  let dir: string;
  let stateFile: string;

  /** Registers and pairs a desktop device for anna; returns its id. */
  async function registerAnna(code = 'ABCDE23456'): Promise<string> {
    server.addPairingCode(code, { userName: 'anna', kind: 'desktop' });
    const result = await runDevice(['register', '--server', server.url, '--kind', 'desktop', '--name', 'Annas pc', '--pairing-code', code, '--pin-stdin', '--state', stateFile], `${PIN}\n`);
    expect(result, result.stderr).to.include({ code: 0 });
    return [...server.devices.keys()].at(-1) as string;
  }

  /** The JSON bodies of the calls to a challenge's approve or reject. */
  const answers = (action: 'approve' | 'reject') => server.requests
    .filter((request) => request.method === 'POST' && request.path.endsWith(`/${action}`))
    .map((request) => ({ status: request.status, body: JSON.parse(request.rawBody) as unknown }));

  beforeEach(async () => {
    server = await startFakeDeviceServer({ retryMs: 100 });
    dir = await mkdtemp(join(tmpdir(), 'stepup-device-'));
    stateFile = join(dir, 'device.json');
  });

  afterEach(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('register', () => {
    it('registers with --pin-stdin, pairs, and keeps the private key, and no PIN, in a 0600 state file', async () => {
      server.addPairingCode('ABCDE23456', { userName: 'anna', kind: 'desktop' });
      // Typed as IT read it out: lower case, with the dash.
      const result = await runDevice(['register', '--server', server.url, '--kind', 'desktop', '--name', 'Annas pc', '--pairing-code', 'abcde-23456', '--pin-stdin', '--state', stateFile, '--json'], `${PIN}\n`);
      expect(result.code, result.stderr).to.equal(0);
      const [device] = [...server.devices.values()];
      expect(JSON.parse(result.stdout)).to.deep.equal({ deviceId: device?.id, status: 'active', userName: 'anna', kind: 'desktop', name: 'Annas pc' });
      expect(device).to.include({ status: 'active', pin: PIN, kind: 'desktop', name: 'Annas pc', userName: 'anna' });

      expect((await stat(stateFile)).mode & 0o777).to.equal(0o600);
      const text = await readFile(stateFile, 'utf8');
      expect(text).not.to.include(PIN);
      const state = JSON.parse(text) as Record<string, unknown> & { privateKey: Record<string, string> };
      expect(state).to.include({ deviceId: device?.id, status: 'active', userName: 'anna' });
      expect(Object.keys(state)).not.to.include('pin');
      expect(state.privateKey).to.include({ kty: 'EC', crv: 'P-256', x: device?.publicKey.x, y: device?.publicKey.y });
      expect(state.privateKey.d).to.match(/^[A-Za-z0-9_-]{43}$/);

      const calls = server.requests.map((request) => `${request.method} ${request.path} ${request.status}`);
      expect(calls).to.deep.equal(['POST /api/device/v1/register 201', 'POST /api/device/v1/pair 200']);
      expect(JSON.parse(server.requests[0]?.rawBody ?? '')).to.include({ pairingCode: 'ABCDE23456' });
    });

    it('reports a refused pairing code or PIN on one line, exits 1, and leaves no state file', async () => {
      server.addPairingCode('ABCDE23456', { userName: 'anna', kind: 'app' });
      const wrongKind = await runDevice(['register', '--server', server.url, '--kind', 'desktop', '--name', 'pc', '--pairing-code', 'ABCDE23456', '--pin-stdin', '--state', stateFile], `${PIN}\n`);
      expect(wrongKind.code).to.equal(1);
      expect(wrongKind.stderr).to.match(/^stepup-device: .*\(invalid_pairing_code\)\n$/);
      const weakPin = await runDevice(['register', '--server', server.url, '--kind', 'app', '--name', 'phone', '--pairing-code', 'ABCDE23456', '--pin-stdin', '--state', stateFile], '123456\n');
      expect(weakPin.code).to.equal(1);
      expect(weakPin.stderr).to.match(/^stepup-device: the PIN must be 6 digits.*\(pin_rejected\)\n$/);
      expect(await stat(stateFile).catch((error: NodeJS.ErrnoException) => error.code)).to.equal('ENOENT');
    });

    it('refuses to register over a device that is already paired', async () => {
      await registerAnna();
      server.addPairingCode('FGHJK23456', { userName: 'anna', kind: 'desktop' });
      const again = await runDevice(['register', '--server', server.url, '--kind', 'desktop', '--name', 'pc', '--pairing-code', 'FGHJK23456', '--pin-stdin', '--state', stateFile], `${PIN}\n`);
      expect(again.code).to.equal(1);
      expect(again.stderr).to.match(/^stepup-device: .* already holds a device .*use another --state file\n$/);
      expect(server.devices.size).to.equal(1);
    });

    it('signs the whole path when the IdP is mounted under a prefix', async () => {
      await server.close();
      server = await startFakeDeviceServer({ prefix: '/idp', retryMs: 100 });
      const deviceId = await registerAnna();
      server.addChallenge(deviceId, { clientName: 'Sagssystem', code: 'K7QM' });
      const result = await runDevice(['approve', '--next', '--pin-stdin', '--state', stateFile, '--timeout', '10'], `${PIN}\n`);
      expect(result.code, result.stderr).to.equal(0);
      expect(server.requests.map((request) => request.path)).to.include('/idp/api/device/v1/events');
    });
  });

  describe('approve --next and reject --next', () => {
    it('approves a challenge that was waiting, sending exactly the PIN, and names the system and code', async () => {
      const deviceId = await registerAnna();
      const challenge = server.addChallenge(deviceId, { clientName: 'Sagssystem', code: 'K7QM' });
      const result = await runDevice(['approve', '--next', '--pin-stdin', '--state', stateFile], `${PIN}\n`);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.equal('Approved the login to Sagssystem (code K7QM).\n');
      expect(answers('approve')).to.deep.equal([{ status: 200, body: { pin: PIN } }]);
      expect(challenge.status).to.equal('approved');
    });

    it('waits for the next challenge and sends the number in number-matching mode (--json)', async () => {
      const deviceId = await registerAnna();
      const device = startDevice(['approve', '--next', '--pin-stdin', '--number', '42', '--state', stateFile, '--json']);
      device.child.stdin.end(`${PIN}\n`);
      await server.waitForEventConnections(1);
      const challenge = server.addChallenge(deviceId, { clientName: 'Løn', code: 'X2Y3', number: '42' });
      expect(await device.exited, device.stderr()).to.equal(0);
      expect(JSON.parse(device.stdout())).to.deep.equal({ status: 'approved', challengeId: challenge.id, clientName: 'Løn', code: 'X2Y3' });
      expect(answers('approve')).to.deep.equal([{ status: 200, body: { pin: PIN, number: '42' } }]);
    });

    it('rejects the next challenge with an empty body', async () => {
      const deviceId = await registerAnna();
      const challenge = server.addChallenge(deviceId, { clientName: 'Sagssystem', code: 'K7QM' });
      const result = await runDevice(['reject', '--next', '--state', stateFile]);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.equal('Rejected the login to Sagssystem (code K7QM).\n');
      expect(answers('reject')).to.deep.equal([{ status: 200, body: {} }]);
      expect(challenge.status).to.equal('rejected');
    });

    it('reports a wrong PIN with the tries left, on one line, and exits 1', async () => {
      const deviceId = await registerAnna();
      const challenge = server.addChallenge(deviceId, { clientName: 'Sagssystem', code: 'K7QM' });
      const result = await runDevice(['approve', '--next', '--pin-stdin', '--state', stateFile], '1397\n');
      expect(result.code).to.equal(1);
      expect(result.stderr).to.equal('stepup-device: wrong PIN (wrong_pin, 4 tries left)\n');
      expect(challenge.status).to.equal('pending');

      const json = await runDevice(['approve', '--next', '--pin-stdin', '--state', stateFile, '--json'], '1397\n');
      expect(json.code).to.equal(1);
      expect(JSON.parse(json.stdout)).to.deep.equal({ error: { code: 'wrong_pin', message: 'wrong PIN (wrong_pin, 3 tries left)', triesLeft: 3 } });
    });

    it('holds the stream across a dropped connection, reconnecting after the server’s retry with a fresh signature', async () => {
      const deviceId = await registerAnna();
      const device = startDevice(['approve', '--next', '--pin-stdin', '--state', stateFile]);
      device.child.stdin.end(`${PIN}\n`);
      await server.waitForEventConnections(1);
      server.dropEventStreams();
      await server.waitForEventConnections(2);
      server.addChallenge(deviceId, { clientName: 'Sagssystem', code: 'K7QM' });
      expect(await device.exited, device.stderr()).to.equal(0);
      // Dropped at once, the client may not have read the `retry` yet: then it waits its default 3 s.
      expect(device.stderr()).to.match(/^stepup-device: note: lost the event stream \(.*\); reconnecting in (0\.1|3) s\n$/);
      const events = server.requests.filter((request) => request.path.endsWith('/events'));
      expect(events.map((request) => request.status)).to.deep.equal([200, 200]);
      expect(new Set(events.map((request) => request.headers['stepup-nonce'])).size).to.equal(2);
    });

    it('gives up after --timeout with exit 1 when no challenge comes', async () => {
      await registerAnna();
      const result = await runDevice(['reject', '--next', '--timeout', '1', '--state', stateFile]);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.equal('stepup-device: no challenge came within 1 s\n');
    });

    it('fails when the server closes the stream because the device was revoked', async () => {
      const deviceId = await registerAnna();
      const device = startDevice(['reject', '--next', '--state', stateFile]);
      await server.waitForEventConnections(1);
      server.closeEventStreams(deviceId, 'revoked');
      expect(await device.exited).to.equal(1);
      expect(device.stderr()).to.equal('stepup-device: the server closed the event stream: the device is revoked\n');
    });
  });

  describe('listen', () => {
    it('shows each challenge with its system, code and time left, asks again after a wrong PIN, and rejects on an empty answer', async () => {
      const deviceId = await registerAnna();
      const device = startDevice(['listen', '--state', stateFile]);
      await server.waitForEventConnections(1);
      const first = server.addChallenge(deviceId, { clientName: 'Sagssystem', code: 'K7QM' });
      await device.waitFor(/Login to Sagssystem: code K7QM, [23]:[0-5][0-9] left/);
      device.child.stdin.write('1397\n');
      await device.waitFor(/wrong PIN \(4 tries left\)/);
      device.child.stdin.write(`${PIN}\n`);
      await device.waitFor(/Approved the login to Sagssystem \(code K7QM\)\./);
      expect(first.status).to.equal('approved');

      const second = server.addChallenge(deviceId, { clientName: 'Løn', code: 'X2Y3' });
      await device.waitFor(/Login to Løn: code X2Y3/);
      device.child.stdin.write('\n');
      await device.waitFor(/Rejected the login to Løn \(code X2Y3\)\./);
      expect(second.status).to.equal('rejected');

      expect(answers('approve').map((answer) => answer.body)).to.deep.equal([{ pin: '1397' }, { pin: PIN }]);
      device.child.kill('SIGTERM');
      expect(await device.exited, device.stderr()).to.equal(0);
    });

    it('reconnects after the server’s retry and asks a challenge once although the server repeats it', async () => {
      const deviceId = await registerAnna();
      const device = startDevice(['listen', '--state', stateFile]);
      await server.waitForEventConnections(1);
      server.addChallenge(deviceId, { clientName: 'Sagssystem', code: 'K7QM' });
      await device.waitFor(/code K7QM/);
      server.dropEventStreams();
      await server.waitForEventConnections(2);
      device.child.stdin.write(`${PIN}\n`);
      await device.waitFor(/Approved/);
      device.child.kill('SIGTERM');
      expect(await device.exited).to.equal(0);
      expect(device.stdout().match(/code K7QM,/g)).to.have.length(1);
      // The challenge came after `retry: 100`, so the client had read it when the stream dropped.
      expect(device.stderr()).to.match(/stepup-device: note: lost the event stream \(.*\); reconnecting in 0\.1 s\n/);
    });
  });

  describe('the command line and the state file', () => {
    it('exits 2 with the usage for a wrong command line', async () => {
      for (const args of [[], ['frobnicate', '--state', stateFile], ['approve', '--state', stateFile], ['listen'], ['register', '--state', stateFile, '--kind', 'desktop'], ['approve', '--next', '--bogus', '--state', stateFile]]) {
        const result = await runDevice(args);
        expect(result.code, args.join(' ')).to.equal(2);
        expect(result.stderr, args.join(' ')).to.match(/^stepup-device: .*\nusage: stepup-device/);
      }
    });

    it('asks for --pin-stdin when there is no terminal to ask at', async () => {
      await registerAnna();
      const result = await runDevice(['approve', '--next', '--state', stateFile]);
      expect(result.code).to.equal(2);
      expect(result.stderr).to.match(/^stepup-device: no terminal to ask for the PIN: pipe it in with --pin-stdin\n/);
    });

    it('refuses a state file that others may read, as ssh refuses such a key', async () => {
      await registerAnna();
      await chmod(stateFile, 0o644);
      const result = await runDevice(['reject', '--next', '--state', stateFile]);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.match(/others may read it \(mode 644\): chmod 600 it\n$/);
    });
  });

  it('the fake refuses a replayed request and a wrong signature, so the passing runs above prove the client signs right', async () => {
    const deviceId = await registerAnna();
    const challenge = server.addChallenge(deviceId, { clientName: 'Sagssystem', code: 'K7QM' });
    expect((await runDevice(['reject', '--next', '--state', stateFile])).code).to.equal(0);
    const signed = server.requests.find((request) => request.path.endsWith(`/challenges/${challenge.id}`));
    const headers = Object.fromEntries(Object.entries(signed?.headers ?? {}).filter(([name]) => name.startsWith('stepup-')));
    const replay = await fetch(`${server.url}/api/device/v1/challenges/${challenge.id}`, { headers });
    expect(replay.status).to.equal(401);
    expect(await replay.json()).to.include({ error: 'replayed' });
    const tampered = await fetch(`${server.url}/api/device/v1/challenges/${challenge.id}?x=1`, { headers: { ...headers, 'stepup-nonce': 'AAAAAAAAAAAAAAAAAAAAAA' } });
    expect(await tampered.json()).to.include({ error: 'invalid_signature' });
  });
});
