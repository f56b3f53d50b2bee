import { expect } from 'chai';

import type { AuditEvent } from '../store/audit.ts';
import { countsOf } from './audit-counts.ts';

const event = (type: AuditEvent['type'], details: Record<string, unknown> = {}): AuditEvent => ({ type, actor: 'user:u1', userId: 'u1', username: 'signe', ip: '10.0.0.7', clientId: 'sagssystem', details });

describe('countsOf', () => {
  it('counts password checks by outcome, from the reason password-login gives', () => {
    expect(countsOf(event('login.password.succeeded'))).to.deep.equal([{ counter: 'password_checks', labels: { outcome: 'success' } }]);
    expect(countsOf(event('login.password.failed', { reason: 'wrong-password' }))[0]?.labels).to.deep.equal({ outcome: 'wrong_password' });
    expect(countsOf(event('login.password.failed', { reason: 'unknown-user' }))[0]?.labels).to.deep.equal({ outcome: 'unknown_user' });
    expect(countsOf(event('login.password.failed', { reason: 'throttled' }))[0]?.labels).to.deep.equal({ outcome: 'throttled' });
  });

  it('keeps every label within its fixed list: an unknown reason or kind becomes a known value, never the text', () => {
    expect(countsOf(event('login.password.failed', { reason: 'signe@viborg.dk' }))[0]?.labels).to.deep.equal({ outcome: 'wrong_password' });
    expect(countsOf(event('login.password.failed', { reason: 'success' }))[0]?.labels).to.deep.equal({ outcome: 'wrong_password' });
    expect(countsOf(event('login.second_factor.failed', { kind: 'carrier_pigeon' }))[0]?.labels).to.deep.equal({ kind: 'other', outcome: 'failure' });
  });

  it('counts second factors by kind and outcome, lockouts by what was locked, and challenges', () => {
    expect(countsOf(event('login.second_factor.succeeded', { kind: 'code_viewer' }))).to.deep.equal([{ counter: 'second_factor_verifications', labels: { kind: 'code_viewer', outcome: 'success' } }]);
    expect(countsOf(event('user.locked')).map((count) => count.labels)).to.deep.equal([{ what: 'account' }]);
    expect(countsOf(event('ip.throttled')).map((count) => count.labels)).to.deep.equal([{ what: 'address' }]);
    expect(countsOf(event('device.locked')).map((count) => count.labels)).to.deep.equal([{ what: 'device' }]);
    expect(countsOf(event('challenge.rejected'))).to.deep.equal([{ counter: 'challenges', labels: { outcome: 'rejected' } }]);
    expect(countsOf(event('login.second_factor.failed', { kind: 'desktop', reason: 'expired' }))).to.deep.equal([
      { counter: 'second_factor_verifications', labels: { kind: 'desktop', outcome: 'failure' } },
      { counter: 'challenges', labels: { outcome: 'expired' } },
    ]);
  });

  it('counts nothing for administrative events', () => {
    expect(countsOf(event('client.created'))).to.deep.equal([]);
    expect(countsOf(event('keys.rotated'))).to.deep.equal([]);
  });
});
