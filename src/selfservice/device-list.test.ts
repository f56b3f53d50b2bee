import { expect } from 'chai';

import type { FactorKind, ListedFactor } from '../factors/factor.ts';
import { deviceRows } from './device-list.ts';

const ADDED = new Date('2026-11-20T08:30:00Z');
const USED = new Date('2026-11-25T13:05:00Z');

const listed = (overrides: Partial<ListedFactor>): ListedFactor => ({
  id: 'f1',
  kind: 'code_viewer',
  name: 'Kodeviser på kontoret',
  detail: null,
  addedAt: ADDED,
  lastUsedAt: null,
  status: 'active',
  lockedUntil: null,
  isDefault: false,
  ...overrides,
});

/** Kinds by name that offer the given optional actions. */
const kinds = (offers: Record<string, Array<'rename' | 'remove'>>) => (name: string) => {
  const actions = offers[name];
  if (!actions) return undefined;
  const act = async () => true;
  return { name, ...(actions.includes('rename') ? { rename: act } : {}), ...(actions.includes('remove') ? { remove: act } : {}) } as unknown as FactorKind;
};

describe('deviceRows', () => {
  const everything = kinds({ code_viewer: ['rename', 'remove'], desktop: ['rename', 'remove'], test_push: [] });

  it('names a code viewer\'s kind with its serial, and says when it was added and last used in Danish time', () => {
    const [row] = deviceRows({ factors: [listed({ detail: '5000000000011', lastUsedAt: USED })], kindOf: everything, language: 'da' });
    expect(row).to.deep.include({
      name: 'Kodeviser på kontoret',
      kind: 'Kodeviser · serienummer 5000000000011',
      added: { at: ADDED.toISOString(), text: '20.11.2026, 09.30' },
      lastUsed: { at: USED.toISOString(), text: '25.11.2026, 14.05' },
      status: 'active',
      statusText: 'Aktiv',
    });
    const [english] = deviceRows({ factors: [listed({ detail: '5000000000011' })], kindOf: everything, language: 'en' });
    expect(english).to.deep.include({ kind: 'Code viewer · serial number 5000000000011', lastUsed: undefined, statusText: 'Active' });
  });

  it('says until when a device is locked, and that a pending one cannot be used to log in', () => {
    const [locked, pending] = deviceRows({
      factors: [listed({ status: 'locked', lockedUntil: USED }), listed({ id: 'd1', kind: 'desktop', name: 'Kontor-pc', status: 'pending' })],
      kindOf: everything,
      language: 'da',
    });
    expect(locked?.statusText).to.equal('Spærret til 25.11.2026, 14.05');
    expect(pending).to.deep.include({ kind: 'Computer eller terminal', status: 'pending', statusText: 'Ikke aktiveret endnu. Den kan ikke bruges til at logge ind.' });
  });

  it('offers what the kind implements, and the default only for a usable device that is not the default', () => {
    const rows = deviceRows({
      factors: [
        listed({ id: 'default', isDefault: true }),
        listed({ id: 'other' }),
        listed({ id: 'pending', kind: 'desktop', status: 'pending' }),
        listed({ id: 'plain', kind: 'test_push' }),
      ],
      kindOf: everything,
      language: 'da',
    });
    const actions = rows.map((row) => [row.id, row.canRename, row.canMakeDefault, row.canRemove]);
    expect(actions).to.deep.equal([
      ['default', true, false, true],
      ['other', true, true, true],
      ['pending', true, false, true],
      ['plain', false, true, false],
    ]);
  });

  it('shows the name of a kind registered without words, rather than a key', () => {
    const [row] = deviceRows({ factors: [listed({ kind: 'test_push', detail: 'x1' })], kindOf: everything, language: 'da' });
    expect(row?.kind).to.equal('test_push · x1');
  });
});
