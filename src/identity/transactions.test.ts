import { expect } from 'chai';

import { createMemoryStore } from '../store/short-lived/memory.ts';
import { createVerificationTransactions } from './transactions.ts';

describe('identity verification transactions', () => {
  let ms = 1_800_000_000_000;
  const transactions = createVerificationTransactions({ store: createMemoryStore(), lifetimeSeconds: 600, now: () => ms });
  const who = { sessionId: 'session-a', userId: 'user-a' };

  it('gives each verification its own state, nonce and PKCE verifier, taken once by the session that began it', async () => {
    const checks = await transactions.begin(who);
    const other = await transactions.begin(who);
    expect(checks.state).to.match(/^[\w-]{43}$/);
    expect(new Set([checks.state, checks.nonce, checks.codeVerifier, other.state, other.nonce, other.codeVerifier]).size).to.equal(6);
    expect(await transactions.take({ ...who, state: checks.state })).to.deep.equal({ ok: true, checks });
    expect(await transactions.take({ ...who, state: checks.state })).to.deep.equal({ ok: false, reason: 'replayed' });
  });

  it('refuses a state of another session or employee, and leaves it for its own', async () => {
    const checks = await transactions.begin(who);
    expect(await transactions.take({ ...who, sessionId: 'session-b', state: checks.state })).to.deep.equal({ ok: false, reason: 'other_session' });
    expect(await transactions.take({ ...who, userId: 'user-b', state: checks.state })).to.deep.equal({ ok: false, reason: 'other_session' });
    expect((await transactions.take({ ...who, state: checks.state })).ok).to.equal(true);
  });

  it('refuses an unknown state, and one that began longer ago than its lifetime', async () => {
    expect(await transactions.take({ ...who, state: 'x'.repeat(43) })).to.deep.equal({ ok: false, reason: 'unknown_state' });
    expect(await transactions.take({ ...who, state: '' })).to.deep.equal({ ok: false, reason: 'unknown_state' });
    const checks = await transactions.begin(who);
    ms += 601_000;
    expect(await transactions.take({ ...who, state: checks.state })).to.deep.equal({ ok: false, reason: 'expired' });
    expect(await transactions.take({ ...who, state: checks.state })).to.deep.equal({ ok: false, reason: 'replayed' });
  });
});
