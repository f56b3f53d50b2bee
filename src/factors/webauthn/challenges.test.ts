import { expect } from 'chai';

import { createMemoryStore } from '../../store/short-lived/memory.ts';
import { createCeremonyChallenges } from './challenges.ts';

describe('WebAuthn ceremony challenges: bound to a session, used once', () => {
  const setup = () => {
    let now = Date.now();
    const challenges = createCeremonyChallenges({ store: createMemoryStore({ now: () => now }), ttlMs: 60_000 });
    return { challenges, advance: (ms: number) => (now += ms) };
  };
  const login = { purpose: 'authentication', boundTo: 'flow-a', userId: 'u1' } as const;

  it('takes the open challenge once; the same answer again is a replay', async () => {
    const { challenges } = setup();
    await challenges.hold({ ...login, challenge: 'c1' });
    expect(await challenges.take({ ...login, received: 'c1' })).to.deep.equal({ ok: true });
    expect(await challenges.take({ ...login, received: 'c1' })).to.deep.equal({ ok: false, reason: 'replayed' });
  });

  it("refuses another session's challenge, and leaves that session's open", async () => {
    const { challenges } = setup();
    await challenges.hold({ ...login, challenge: 'mine' });
    await challenges.hold({ ...login, boundTo: 'flow-b', challenge: 'theirs' });
    expect(await challenges.take({ ...login, received: 'theirs' })).to.deep.equal({ ok: false, reason: 'invalid' });
    expect(await challenges.take({ ...login, boundTo: 'flow-b', received: 'theirs' })).to.deep.equal({ ok: true });
  });

  it('refuses the challenge for another user, another purpose, or one replaced by a reload', async () => {
    const { challenges } = setup();
    await challenges.hold({ ...login, challenge: 'first' });
    await challenges.hold({ ...login, challenge: 'second' });
    expect(await challenges.take({ ...login, received: 'first' })).to.deep.equal({ ok: false, reason: 'invalid' });
    expect(await challenges.take({ ...login, userId: 'u2', received: 'second' })).to.deep.equal({ ok: false, reason: 'invalid' });
    expect(await challenges.take({ ...login, purpose: 'registration', received: 'second' })).to.deep.equal({ ok: false, reason: 'expired' });
    expect(await challenges.take({ ...login, received: 'second' })).to.deep.equal({ ok: true });
  });

  it('lets a challenge run out', async () => {
    const { challenges, advance } = setup();
    await challenges.hold({ ...login, challenge: 'c1' });
    advance(60_001);
    expect(await challenges.take({ ...login, received: 'c1' })).to.deep.equal({ ok: false, reason: 'expired' });
  });

  it('gives one of two racing answers the challenge', async () => {
    const { challenges } = setup();
    await challenges.hold({ ...login, challenge: 'c1' });
    const results = await Promise.all([challenges.take({ ...login, received: 'c1' }), challenges.take({ ...login, received: 'c1' })]);
    expect(results.filter((result) => result.ok)).to.have.length(1);
  });
});
