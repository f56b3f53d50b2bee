/**
 * Adding a computer or a phone in self-service (issue "Step 6"): the employee asks for a pairing
 * code (step 4's, the one IT gives with `stepup device pair`) and types it into the device, which
 * registers and pairs itself over the device API. A phone also gets the code as a QR code of a
 * pairing link. The routes run behind the portal's session, CSRF and `mayChangeFactors` checks,
 * as every other addition; the code is shown once and is never put in a URL the server sees.
 */
import type { Context } from 'koa';

import type { DeviceService } from '../devices/service.ts';
import type { ActContext } from '../factors/factor.ts';
import { requestState } from '../http/context.ts';
import { IdpError } from '../http/errors.ts';
import { clockTime, translate } from '../http/i18n.ts';
import type { Renderer } from '../http/render.ts';
import type { DeviceKind } from '../store/devices.ts';
import type { User } from '../store/users.ts';
import { qrCodeSvg } from './qr-code.ts';
import type { PortalSession } from './sessions.ts';

/** The kinds paired with a code, by the path segment that names them. */
const PAIRED_KINDS: Readonly<Record<string, DeviceKind>> = { computer: 'desktop', phone: 'app' };

/**
 * The pairing link a phone opens (the QR code's content): the IdP's `/app/pair`, the code in the
 * fragment, so it stays on the phone and out of every server's logs.
 */
export const pairingLink = (issuer: string, code: string) => `${issuer}/app/pair#${encodeURIComponent(code)}`;

/** What the pairing pages take from the portal. */
export interface PairingPagesDeps {
  issuer: string;
  devices: Pick<DeviceService, 'issuePairingCode'>;
  render: Renderer;
  who(ctx: Context): { session: PortalSession; user: User };
  csrfToken(session: PortalSession): string;
  acting(ctx: Context): ActContext;
  /** Audits what allowed an employee without a device to add their first (as every addition does). */
  noteFirstEnrolment(ctx: Context, details: Record<string, unknown>): Promise<void>;
}

export function pairingPages(deps: PairingPagesDeps) {
  const kindOf = (ctx: Context) => {
    const kind = PAIRED_KINDS[String(ctx.params.kind)];
    if (!kind) throw new IdpError('not_found', { detail: `self-service: no device kind ${String(ctx.params.kind)}` });
    return kind;
  };

  /** `GET /selfservice/device/:kind`: what will happen, and the button that makes a code. */
  async function showPairing(ctx: Context) {
    deps.render(ctx, 'selfservice-pairing', { kind: kindOf(ctx), csrf: deps.csrfToken(deps.who(ctx).session) });
  }

  /** `POST /selfservice/device/:kind`: a new code, shown once (a POST: it issues something). */
  async function issueCode(ctx: Context) {
    const kind = kindOf(ctx);
    const { user } = deps.who(ctx);
    const { language } = requestState(ctx);
    const { code, expiresAt } = await deps.devices.issuePairingCode({ userId: user.id, username: user.username, kind, context: deps.acting(ctx) });
    await deps.noteFirstEnrolment(ctx, { pairingCodeFor: kind });
    deps.render(ctx, 'selfservice-pairing', {
      kind,
      code,
      expires: translate(language, 'ss.pairing.expires', { time: clockTime(language, expiresAt) }),
      qrSvg: kind === 'app' ? await qrCodeSvg(pairingLink(deps.issuer, code)) : undefined,
    });
  }

  return { showPairing, issueCode };
}
