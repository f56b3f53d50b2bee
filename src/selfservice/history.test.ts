import { expect } from 'chai';

import type { ListedFactor } from '../factors/factor.ts';
import type { StoredAuditEvent } from '../store/audit.ts';
import { historyRows } from './history.ts';

const AT = new Date('2026-11-25T13:05:00Z');

const event = (overrides: Partial<StoredAuditEvent>): StoredAuditEvent => ({
  id: 1,
  occurredAt: AT,
  type: 'login.password.succeeded',
  actor: 'user:u1',
  userId: 'u1',
  username: null,
  clientId: null,
  ip: null,
  requestId: null,
  details: {},
  ...overrides,
});

const viewer: ListedFactor = { id: 't1', kind: 'code_viewer', name: 'Kodeviser på kontoret', detail: '5000000000011', addedAt: AT, lastUsedAt: null, status: 'active', lockedUntil: null, isDefault: true };

describe('historyRows', () => {
  it('says what happened, when in Danish time, from where and at which system', () => {
    const [row] = historyRows([event({ ip: '10.1.2.3', clientId: 'sagssystem' })], [], 'da');
    expect(row).to.deep.equal({ at: AT.toISOString(), when: '25.11.2026, 14.05', what: 'Login med adgangskode', ip: '10.1.2.3', system: 'sagssystem', device: undefined });
    expect(historyRows([event({})], [], 'en')[0]?.what).to.equal('Login with password');
  });

  it('names a device the employee still has by its name, a removed one by its kind and serial', () => {
    const [kept, removed] = historyRows([
      event({ type: 'login.second_factor.succeeded', details: { tokenId: 't1', kind: 'code_viewer', serial: '5000000000011' } }),
      event({ type: 'factor.removed', details: { tokenId: 't9', kind: 'code_viewer', serial: '5000000000029' } }),
    ], [viewer], 'da');
    expect(kept?.device).to.equal('Kodeviser på kontoret');
    expect(removed?.device).to.equal('Kodeviser 5000000000029');
  });

  it('leaves out what is not the employee\'s own authentication or devices', () => {
    const rows = historyRows([event({ type: 'keys.rotated' }), event({ type: 'saml.request_refused' }), event({ type: 'login.password.failed' })], [], 'da');
    expect(rows.map((row) => row.what)).to.deep.equal(['Forkert adgangskode']);
  });

  it('shows no device for a kind it does not know, rather than a key', () => {
    expect(historyRows([event({ type: 'factor.removed', details: { kind: 'carrier_pigeon' } })], [], 'da')[0]?.device).to.equal(undefined);
  });
});
