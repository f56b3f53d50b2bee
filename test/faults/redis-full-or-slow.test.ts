import { expect } from 'chai';

import { REDIS_TIMEOUTS } from '../../src/store/short-lived/redis.ts';
import { READINESS_TIMEOUT_MS } from '../../src/store/index.ts';
import { startFaultBed, type FaultBed } from './bed.ts';
import { outageLog, tokenRequest } from './checks.ts';
import { attemptLogin, untilLoginWorks, untilStatus } from './logins.ts';
import { requireFaultServices } from './services.ts';

/** Room for the IdP's own work beside a storage timeout, on a loaded two-core machine. */
const MARGIN_MS = 2000;

/** A request's status and how long it took. */
async function timed(request: () => Promise<Response>): Promise<{ status: number; ms: number; response: Response }> {
  const started = Date.now();
  const response = await request();
  await response.clone().text();
  return { status: response.status, ms: Date.now() - started, response };
}

/**
 * Issue 10's fault battery: a Redis that answers PING but refuses writes (full, under
 * `noeviction`), and one that does not answer at all for a while (`DEBUG SLEEP`). The IdP says
 * so within its timeouts, never hangs a request beyond them, and `/readyz` tells the load
 * balancer, because it checks a write with a TTL, as a login needs.
 */
describe('fault battery: Redis full or slow', function () {
  this.timeout(180_000);
  let bed: FaultBed;

  before(async function () {
    requireFaultServices(this);
    bed = await startFaultBed();
    await bed.addEmployee('ida');
  });
  after(async () => {
    await bed?.stop();
  });

  it('is not ready while Redis is full, refuses logins cleanly at once, and recovers when it has room', async () => {
    const node = bed.nodes[0]!;
    await bed.redis.command('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    // One byte: every write is over the limit, while PING and reads still answer.
    await bed.redis.command('CONFIG', 'SET', 'maxmemory', '1');
    const full = Date.now();
    const notReadyMs = await untilStatus(`${node.url}/readyz`, 503, 10_000);
    expect(await (await fetch(`${node.url}/readyz`)).json()).to.deep.equal({ status: 'unavailable', database: true, redis: false });

    const refused = await attemptLogin(bed.rp, 'ida');
    expect(refused, JSON.stringify(refused)).to.include({ kind: 'unavailable', status: 503 });
    const token = await timed(() => tokenRequest(bed.rp, { grant_type: 'client_credentials' }));
    expect(token.status).to.equal(503);
    expect(token.response.headers.get('retry-after')).to.equal('5');
    expect(await token.response.json()).to.include({ error: 'temporarily_unavailable' });

    await bed.redis.command('CONFIG', 'SET', 'maxmemory', '0');
    const room = Date.now();
    const readyMs = await untilStatus(`${node.url}/readyz`, 200, 10_000);
    await untilLoginWorks(bed.rp, 'ida', 10_000);
    const loginMs = Date.now() - room;
    console.log(`      Redis full: /readyz 503 after ${notReadyMs} ms (${Date.now() - full} ms in all); a login refused in ${refused.ended - refused.started} ms, the token endpoint in ${token.ms} ms; with room again /readyz 200 after ${readyMs} ms, a login worked after ${loginMs} ms`);
    expect(notReadyMs).to.be.at.most(2000);
    // A full Redis answers at once: nothing waits for a timeout.
    expect(refused.ended - refused.started).to.be.at.most(MARGIN_MS * 2);
    expect(token.ms).to.be.at.most(MARGIN_MS);
    expect(readyMs).to.be.at.most(5000);
    expect(loginMs).to.be.at.most(5000);
  });

  it('answers every request within its timeouts while Redis does not answer at all', async () => {
    const node = bed.nodes[0]!;
    const sleepSeconds = 8;
    const asleep = bed.redis.command('DEBUG', 'SLEEP', String(sleepSeconds));
    const slept = Date.now();
    // Give the command a moment to reach Redis.
    await new Promise((resolve) => setTimeout(resolve, 200));

    const ready = await timed(() => fetch(`${node.url}/readyz`));
    const refused = await attemptLogin(bed.rp, 'ida');
    const token = await timed(() => tokenRequest(bed.rp, { grant_type: 'client_credentials' }));
    const duringMs = Date.now() - slept;
    console.log(`      Redis asleep: /readyz ${ready.status} in ${ready.ms} ms; a login refused in ${refused.ended - refused.started} ms (at ${refused.at}); the token endpoint ${token.status} in ${token.ms} ms`);
    // All of that happened while Redis slept, so it shows the IdP's bounds, not Redis waking.
    expect(duringMs).to.be.below(sleepSeconds * 1000);
    expect(ready.status).to.equal(503);
    expect(ready.ms).to.be.at.most(READINESS_TIMEOUT_MS + MARGIN_MS);
    expect(refused, JSON.stringify(refused)).to.include({ kind: 'unavailable', status: 503 });
    expect(refused.ended - refused.started).to.be.at.most(REDIS_TIMEOUTS.commandMs + MARGIN_MS);
    expect(token.status).to.equal(503);
    expect(token.response.headers.get('retry-after')).to.equal('5');
    expect(token.ms).to.be.at.most(REDIS_TIMEOUTS.commandMs + MARGIN_MS);

    await asleep;
    const awake = Date.now();
    await untilStatus(`${node.url}/readyz`, 200, 10_000);
    await untilLoginWorks(bed.rp, 'ida', 10_000);
    expect(Date.now() - awake).to.be.at.most(5000);

    const logged = outageLog(node.output());
    expect(logged.errors, logged.errors.join('\n')).to.deep.equal([]);
    expect(logged.outages.map((line) => line.outage)).to.include.members(['OOM', 'Command timed out']);
  });
});
