import { expect } from 'chai';

import type { SessionAuthentication } from '../store/authentications.ts';
import { MAX_SESSION_PARTICIPANTS, sessionAfterLogin, ssoSessionSecondsLeft, withParticipant, type SessionParticipant, type SsoSession } from './sso-session.ts';

const NOW = 1_800_000_000;
const limits = { idle: 2 * 60 * 60, absolute: 10 * 60 * 60 };

describe('SSO session lifetimes', () => {
  it('lives until the sooner of its idle and absolute ends', () => {
    expect(ssoSessionSecondsLeft({ createdAt: NOW, lastSeenAt: NOW }, limits, NOW)).to.equal(limits.idle);
    expect(ssoSessionSecondsLeft({ createdAt: NOW - 9 * 3600, lastSeenAt: NOW }, limits, NOW)).to.equal(3600);
  });

  it('ends after the idle time without a request, however young', () => {
    expect(ssoSessionSecondsLeft({ createdAt: NOW - 3600, lastSeenAt: NOW - limits.idle }, limits, NOW)).to.equal(0);
    expect(ssoSessionSecondsLeft({ createdAt: NOW - 3600, lastSeenAt: NOW - limits.idle + 1 }, limits, NOW)).to.equal(1);
  });

  it('ends at the absolute end, however busy', () => {
    expect(ssoSessionSecondsLeft({ createdAt: NOW - limits.absolute, lastSeenAt: NOW }, limits, NOW)).to.equal(0);
    expect(ssoSessionSecondsLeft({ createdAt: NOW - limits.absolute - 60, lastSeenAt: NOW - 1 }, limits, NOW)).to.equal(0);
  });
});

describe('SSO session after a login', () => {
  const passwordLogin: SessionAuthentication = { accountId: 'anna', passwordAt: NOW - 600 };
  const current: SsoSession = { id: 'x', createdAt: NOW - 600, lastSeenAt: NOW - 60, authentication: passwordLogin };

  it('begins a new session at the first login', () => {
    expect(sessionAfterLogin({ current: undefined, authentication: passwordLogin, now: NOW })).to.deep.equal({
      session: { createdAt: NOW, lastSeenAt: NOW, authentication: passwordLogin },
      change: 'new',
    });
  });

  it('begins a new session for another account or a new password login', () => {
    expect(sessionAfterLogin({ current, authentication: { accountId: 'bo', passwordAt: NOW }, now: NOW }).change).to.equal('new');
    const again = sessionAfterLogin({ current, authentication: { accountId: 'anna', passwordAt: NOW }, now: NOW });
    expect(again.change).to.equal('new');
    expect(again.session.createdAt).to.equal(NOW);
  });

  it('renews a session stepped up with a second factor, keeping when it began', () => {
    const steppedUp = { ...passwordLogin, secondFactorAt: NOW, secondFactorAmr: ['otp', 'hwk'] };
    expect(sessionAfterLogin({ current, authentication: steppedUp, now: NOW })).to.deep.equal({
      session: { createdAt: NOW - 600, lastSeenAt: NOW, authentication: steppedUp },
      change: 'renewed',
    });
  });

  it('keeps a session that a login reused as it was', () => {
    expect(sessionAfterLogin({ current, authentication: passwordLogin, now: NOW }).change).to.equal('same');
  });

  it('keeps the relying parties answered for the same account, through a new password login too; another account starts with none', () => {
    const participant: SessionParticipant = { clientId: 'https://sp.example/saml', subject: { format: 'persistent', value: 'abc' }, sessionIndex: '_1' };
    const answered = { ...current, participants: [participant] };
    expect(sessionAfterLogin({ current: answered, authentication: passwordLogin, now: NOW }).session.participants).to.deep.equal([participant]);
    expect(sessionAfterLogin({ current: answered, authentication: { ...passwordLogin, secondFactorAt: NOW }, now: NOW }).session.participants).to.deep.equal([participant]);
    expect(sessionAfterLogin({ current: answered, authentication: { accountId: 'anna', passwordAt: NOW }, now: NOW }).session.participants).to.deep.equal([participant]);
    expect(sessionAfterLogin({ current: answered, authentication: { accountId: 'bo', passwordAt: NOW }, now: NOW }).session).to.not.have.property('participants');
  });
});

describe('SSO session participants', () => {
  const session: SsoSession = { id: 'x', createdAt: NOW, lastSeenAt: NOW, authentication: { accountId: 'anna', passwordAt: NOW } };
  const participant = (n: number): SessionParticipant => ({ clientId: 'https://sp.example/saml', subject: { format: 'transient', value: `_${n}` }, sessionIndex: `_s${n}` });

  it('adds the newest last, and keeps the newest few', () => {
    expect(withParticipant(session, participant(1)).participants).to.deep.equal([participant(1)]);
    let busy = session;
    for (let n = 0; n < MAX_SESSION_PARTICIPANTS + 3; n++) busy = withParticipant(busy, participant(n));
    expect(busy.participants).to.have.length(MAX_SESSION_PARTICIPANTS);
    expect(busy.participants?.[0]).to.deep.equal(participant(3));
    expect(busy.participants?.at(-1)).to.deep.equal(participant(MAX_SESSION_PARTICIPANTS + 2));
  });
});
