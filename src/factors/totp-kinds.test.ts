import { expect } from 'chai';

import type { InventoryActOptions } from './code-viewer/inventory.ts';
import type { SecondFactor } from './factor.ts';
import type { TotpFactors } from './totp-factors.ts';
import { createTotpKinds } from './totp-kinds.ts';

const added = new Date('2026-11-25T08:00:00Z');
const viewer: SecondFactor = { id: 'v1', kind: 'code_viewer', name: 'Kodeviser', detail: '5000000000011', addedAt: added, lastUsedAt: null, status: 'active', lockedUntil: null };
const app: SecondFactor = { id: 'a1', kind: 'authenticator', name: 'Telefon', detail: null, addedAt: added, lastUsedAt: null, status: 'active', lockedUntil: null };
/** The inventory as the kinds see it: they only pass it on to the code viewer's release. */
const inventory = {} as InventoryActOptions['storage'];
const context = { actor: 'test' };
const flow = { uid: 'f', clientId: 'rp', clientName: undefined };

/** The TOTP service as the kinds see it: two tokens, and the calls it was asked. */
function fakeTotp() {
  const calls: Array<Record<string, unknown>> = [];
  const totp = {
    listForUser: async () => [viewer, app],
    verify: async (input: Record<string, unknown>) => {
      calls.push(input);
      return input.code === '123456' ? { ok: true, factor: viewer } : { ok: false, reason: 'invalid', lockedUntil: undefined };
    },
    resync: async (input: Record<string, unknown>) => {
      calls.push(input);
      return { ok: true, drift: -3 };
    },
    rename: async (input: Record<string, unknown>) => {
      calls.push(input);
      return true;
    },
    removeAuthenticator: async (input: Record<string, unknown>) => {
      calls.push(input);
      return true;
    },
  } as unknown as TotpFactors;
  return { totp, calls };
}

describe('code viewers and authenticator apps as factor kinds', () => {
  it('are two kinds, each listing only its own tokens and proving its own amr (RFC 8176)', async () => {
    const [codeViewer, authenticator] = createTotpKinds(fakeTotp().totp, inventory);
    expect(codeViewer).to.deep.include({ name: 'code_viewer', amr: ['otp', 'hwk'] });
    expect(authenticator).to.deep.include({ name: 'authenticator', amr: ['otp'] });
    expect(await codeViewer?.listForUser('anna')).to.deep.equal([viewer]);
    expect(await authenticator?.listForUser('anna')).to.deep.equal([app]);
  });

  it('start with the code page and check a code against their own kind of token only', async () => {
    const { totp, calls } = fakeTotp();
    const [codeViewer] = createTotpKinds(totp, inventory);
    expect(await codeViewer?.start({ userId: 'anna', factor: viewer, flow, context })).to.deep.equal({ type: 'code' });
    expect(await codeViewer?.verify({ userId: 'anna', factorId: 'v1', answer: { code: '123456' }, flow, context })).to.deep.equal({ ok: true });
    expect(await codeViewer?.verify({ userId: 'anna', factorId: 'v1', answer: { code: '000000' }, flow, context })).to.deep.equal({ ok: false, reason: 'invalid' });
    expect(calls.map((call) => call.kind)).to.deep.equal(['code_viewer', 'code_viewer']);
  });

  it('take no challenge for an answer, and resynchronise with two codes', async () => {
    const { totp, calls } = fakeTotp();
    const [, authenticator] = createTotpKinds(totp, inventory);
    expect(await authenticator?.verify({ userId: 'anna', factorId: 'a1', answer: { challengeId: 'c1' }, flow, context })).to.deep.equal({ ok: false, reason: 'not_found' });
    expect(calls).to.deep.equal([]);
    expect(await authenticator?.resync?.({ userId: 'anna', factorId: 'a1', codes: ['111111', '222222'], context })).to.deep.equal({ ok: true });
    expect(calls).to.deep.equal([{ tokenId: 'a1', userId: 'anna', code1: '111111', code2: '222222', context }]);
  });

  it('rename their own kind of token, and only an app is deleted outright; a code viewer asks why', async () => {
    const { totp, calls } = fakeTotp();
    const [codeViewer, authenticator] = createTotpKinds(totp, inventory);
    expect(await codeViewer?.rename?.({ userId: 'anna', factorId: 'v1', name: 'Ny', context })).to.equal(true);
    expect(await authenticator?.remove?.({ userId: 'anna', factorId: 'a1', context })).to.equal(true);
    expect(calls).to.deep.equal([{ userId: 'anna', tokenId: 'v1', kind: 'code_viewer', name: 'Ny', context }, { userId: 'anna', tokenId: 'a1', context }]);
    expect(codeViewer?.removalReasons).to.deep.equal(['given_to_colleague', 'lost', 'defective']);
    expect(authenticator?.removalReasons).to.equal(undefined);
  });
});
