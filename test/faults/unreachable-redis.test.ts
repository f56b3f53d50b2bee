import { expect } from 'chai';

import { generatePairingCode } from '../../src/devices/pairing-code.ts';
import { TestDevice } from '../devices/device-client.ts';
import { Browser } from '../helpers/browser.ts';
import { createBacking, startIdp, type Backing, type RunningIdp } from '../helpers/idp.ts';
import { authorizationRequest, discover, registerClient } from '../oidc/login-flow.ts';
import { UNAVAILABLE_TEXT } from './logins.ts';

/**
 * Every face's answer to an outage, in process and on any machine (the rest of the battery needs
 * a Redis and a Postgres of its own): an IdP whose Redis is nowhere answers a page, oidc-provider's
 * JSON and the device API "temporarily unavailable" with 503 and `Retry-After`, and logs each once.
 */
describe('fault battery: Redis unreachable, in process', function () {
  this.timeout(60_000);
  let backing: Backing;
  let running: RunningIdp;

  before(async () => {
    backing = await createBacking();
    running = await startIdp({ ...backing, redisUrl: 'redis://127.0.0.1:1' });
    await registerClient(running.idp, 'unreachable-rp');
  });
  after(async () => {
    await running?.stop();
    await backing?.cleanup();
  });

  /** The outage lines logged for one request. */
  const outageLines = (requestId: string | null) => running.logs.filter((line) => line.includes('"storage unavailable"') && line.includes(`"requestId":"${requestId}"`));

  it("answers oidc-provider's authorization endpoint with our page, never blaming the relying party", async () => {
    const rp = await discover(running.issuer, 'unreachable-rp');
    const response = await new Browser().fetch((await authorizationRequest(rp)).url);
    const html = await response.text();
    expect(response.status).to.equal(503);
    expect(response.headers.get('retry-after')).to.equal('5');
    expect(html).to.include(UNAVAILABLE_TEXT);
    expect(html).to.not.include('Systemet, du kom fra');
    expect(html).to.not.include('server_error');
    expect(outageLines(response.headers.get('x-request-id'))).to.have.length(1);
  });

  it("answers oidc-provider's token endpoint with temporarily_unavailable", async () => {
    const response = await fetch(`${running.url}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('unreachable-rp:unreachable-rp-secret-that-is-long-enough-to-be-strong').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    expect(response.status).to.equal(503);
    expect(response.headers.get('retry-after')).to.equal('5');
    expect(await response.json()).to.deep.equal({ error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable. Try again shortly.' });
    const lines = outageLines(response.headers.get('x-request-id'));
    expect(lines).to.have.length(1);
    expect(JSON.parse(lines[0] as string)).to.include({ level: 40, store: 'redis', code: 'temporarily_unavailable' });
  });

  it('answers the device API with service_unavailable', async () => {
    // A well-formed registration with a valid proof: the pairing budget, in Redis, is asked first.
    const response = await new TestDevice(running.url).register({ pairingCode: generatePairingCode(), kind: 'desktop' });
    expect(response.status).to.equal(503);
    expect(response.headers.get('retry-after')).to.equal('5');
    expect(await response.json()).to.include({ error: 'service_unavailable', message: 'The service is temporarily unavailable. Try again shortly.' });
    expect(outageLines(response.headers.get('x-request-id'))).to.have.length(1);
  });
});
