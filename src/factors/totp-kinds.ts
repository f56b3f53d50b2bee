import type { TotpKind } from '../store/totp-tokens.ts';
import { CODE_VIEWER_REMOVAL_REASONS, releaseCodeViewer } from './code-viewer/release.ts';
import type { InventoryActOptions } from './code-viewer/inventory.ts';
import type { FactorKind, FactorRefusal } from './factor.ts';
import { TOTP_LOGIN_EVENTS, type TotpFactors } from './totp-factors.ts';

/**
 * What each TOTP kind proves (RFC 8176 §2): any code is `otp`; a code viewer is also a
 * hardware key (`hwk`), the secret sealed in the token. An app on a phone is not.
 */
const TOTP_AMR: Readonly<Record<TotpKind, readonly string[]>> = {
  code_viewer: ['otp', 'hwk'],
  authenticator: ['otp'],
};

/**
 * Code viewers and authenticator apps as two {@link FactorKind}s over the one TOTP service:
 * each lists and verifies only its own tokens, asks for a code, offers resynchronisation, and is
 * renamed and deleted by its employee. Binding, app enrolment and IT's inventory stay on
 * {@link TotpFactors}; a code viewer the employee deletes is released with IT's own acts on the
 * `inventory` (back to stock, or marked lost or defective, by the reason they chose).
 */
export function createTotpKinds(totp: TotpFactors, inventory: InventoryActOptions['storage']): FactorKind[] {
  const codeViewer: FactorKind = {
    ...totpKind(totp, 'code_viewer'),
    removalReasons: CODE_VIEWER_REMOVAL_REASONS,
    remove: ({ userId, factorId, reason, context }) => releaseCodeViewer({ storage: inventory, userId, tokenId: factorId, reason, context }),
  };
  const authenticator: FactorKind = {
    ...totpKind(totp, 'authenticator'),
    remove: ({ userId, factorId, context }) => totp.removeAuthenticator({ userId, tokenId: factorId, context }),
  };
  return [codeViewer, authenticator];
}

/** What both kinds share: the list, the code page, verification, resynchronisation and renaming. */
function totpKind(totp: TotpFactors, name: TotpKind): FactorKind {
  return {
    name,
    amr: TOTP_AMR[name],
    events: TOTP_LOGIN_EVENTS,

    async listForUser(userId) {
      return (await totp.listForUser(userId)).filter((factor) => factor.kind === name);
    },

    async start() {
      return { type: 'code' };
    },

    async verify({ userId, factorId, answer, context }) {
      // A challenge id is no answer to a code kind; an empty code is one (`malformed`).
      if (answer.code === undefined) return { ok: false, reason: 'not_found' };
      const result = await totp.verify({ userId, factorId, code: answer.code, kind: name, context });
      return result.ok ? { ok: true } : refusal(result);
    },

    async resync({ userId, factorId, codes: [code1, code2], context }) {
      const result = await totp.resync({ tokenId: factorId, userId, code1, code2, context });
      return result.ok ? { ok: true } : refusal(result);
    },

    rename: ({ userId, factorId, name: newName, context }) => totp.rename({ userId, tokenId: factorId, kind: name, name: newName, context }),
  };
}

/** A TOTP refusal as the factor interface has it (the reasons are a subset). */
function refusal(result: { reason: FactorRefusal['reason']; lockedUntil?: Date | undefined }): FactorRefusal {
  return { ok: false, reason: result.reason, ...(result.lockedUntil ? { lockedUntil: result.lockedUntil } : {}) };
}
