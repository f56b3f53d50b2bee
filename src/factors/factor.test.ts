import { expect } from 'chai';

import { createFactorRegistry, orderFactors, type FactorKind, type SecondFactor } from './factor.ts';

/** A kind that owns the given factors (active unless they say otherwise) and does nothing else. */
function fakeKind(name: string, factors: Array<Pick<SecondFactor, 'id' | 'name' | 'lastUsedAt'> & Partial<Pick<SecondFactor, 'status'>>>): FactorKind {
  return {
    name,
    amr: ['otp'],
    events: { succeeded: 'login.second_factor.succeeded', failed: 'login.second_factor.failed', locked: 'factor.locked' },
    listForUser: async () => factors.map((factor) => ({ status: 'active', ...factor, kind: name, detail: null, addedAt: at('2025-12-01T08:00:00Z'), lockedUntil: null })),
    start: async () => ({ type: 'code' }),
    verify: async () => ({ ok: false, reason: 'invalid' }),
  };
}

const at = (iso: string) => new Date(iso);

describe('the factor registry', () => {
  const phones = fakeKind('phone', [
    { id: 'p1', name: 'Old phone', lastUsedAt: at('2026-01-01T08:00:00Z') },
    { id: 'p2', name: 'New phone', lastUsedAt: null },
  ]);
  const keys = fakeKind('key', [{ id: 'k1', name: 'Key', lastUsedAt: at('2026-03-01T08:00:00Z') }]);
  const tokens = fakeKind('token', [{ id: 't1', name: 'Token', lastUsedAt: null }]);

  it('lists the factors of the kinds it was given, and nothing else', async () => {
    expect((await createFactorRegistry([phones]).listForUser('anna')).map((factor) => factor.id)).to.have.members(['p1', 'p2']);
    expect((await createFactorRegistry([keys, tokens]).listForUser('anna')).map((factor) => factor.kind)).to.have.members(['key', 'token']);
    expect(await createFactorRegistry([]).listForUser('anna')).to.deep.equal([]);
  });

  it('lists the last used first across kinds, the never used last in the order of their kinds', async () => {
    const listed = await createFactorRegistry([tokens, phones, keys]).listForUser('anna');
    expect(listed.map((factor) => factor.id)).to.deep.equal(['k1', 'p1', 't1', 'p2']);
  });

  it('lists the user\'s default first, marked, then the rest by last use', async () => {
    const registry = createFactorRegistry([tokens, phones, keys], { defaultFactorOf: async (userId) => (userId === 'anna' ? 'p2' : null) });
    const listed = await registry.listForUser('anna');
    expect(listed.map((factor) => [factor.id, factor.isDefault])).to.deep.equal([['p2', true], ['k1', false], ['p1', false], ['t1', false]]);
    expect((await registry.listForUser('bo')).map((factor) => factor.isDefault)).to.deep.equal([false, false, false, false]);
  });

  it('keeps a pending factor (registered, not yet usable) from the login, and lists it when asked', async () => {
    const computers = fakeKind('computer', [{ id: 'c1', name: 'Kontor-pc', lastUsedAt: null, status: 'pending' }, { id: 'c2', name: 'Hjemme-pc', lastUsedAt: null }]);
    const registry = createFactorRegistry([computers]);
    expect((await registry.listForUser('anna')).map((factor) => factor.id)).to.deep.equal(['c2']);
    expect((await registry.listForUser('anna', { pending: true })).map((factor) => [factor.id, factor.status])).to.deep.equal([['c1', 'pending'], ['c2', 'active']]);
  });

  it('finds a kind by its name; an unknown kind is undefined', () => {
    const registry = createFactorRegistry([phones, keys]);
    expect(registry.get('key')).to.equal(keys);
    expect(registry.get('token')).to.equal(undefined);
    expect(registry.kinds.map((kind) => kind.name)).to.deep.equal(['phone', 'key']);
  });

  it('refuses a kind registered twice', () => {
    expect(() => createFactorRegistry([phones, fakeKind('phone', [])])).to.throw('factor kind "phone" is registered twice');
  });
});

describe('orderFactors', () => {
  const factor = (id: string, lastUsedAt: string | null): SecondFactor => ({ id, kind: 'token', name: id, detail: null, addedAt: at('2025-12-01T08:00:00Z'), lastUsedAt: lastUsedAt ? at(lastUsedAt) : null, status: 'active', lockedUntil: null });
  const factors = [factor('never', null), factor('old', '2026-01-01T08:00:00Z'), factor('new', '2026-03-01T08:00:00Z'), factor('never-2', null)];
  const ids = (defaultFactorId: string | null) => orderFactors({ factors, defaultFactorId }).map((listed) => listed.id);

  it('puts the default first, even one never used, then the last used, the never used last in the order given', () => {
    expect(ids('never-2')).to.deep.equal(['never-2', 'new', 'old', 'never']);
    expect(ids('old')).to.deep.equal(['old', 'new', 'never', 'never-2']);
  });

  it('orders by last use alone without a default, or with one that names none of the factors (a removed one)', () => {
    expect(ids(null)).to.deep.equal(['new', 'old', 'never', 'never-2']);
    expect(ids('removed')).to.deep.equal(['new', 'old', 'never', 'never-2']);
  });

  it('marks the default and only it, and leaves the given list as it was', () => {
    const listed = orderFactors({ factors, defaultFactorId: 'old' });
    expect(listed.filter((one) => one.isDefault).map((one) => one.id)).to.deep.equal(['old']);
    expect(factors.map((one) => one.id)).to.deep.equal(['never', 'old', 'new', 'never-2']);
    expect(factors[0]).to.not.have.property('isDefault');
  });
});
