import { expect } from 'chai';

import type { SessionAuthentication } from '../store/authentications.ts';
import { sessionAfterLogin, ssoSessionSecondsLeft, type SsoSession } from './sso-session.ts';

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
});
