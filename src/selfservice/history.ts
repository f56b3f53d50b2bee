/**
 * The employee's own history in self-service (issue "Step 6"): the last 50 authentication and
 * device events of their account, from the audit log, with when, what, from where, at which
 * system and with which device. It is how someone spots a login that was not theirs, so failed
 * attempts are in it too. What an event says is decided here, as data; the page only lists rows.
 */
import type { Context } from 'koa';

import type { FactorRegistry, ListedFactor } from '../factors/factor.ts';
import { requestState } from '../http/context.ts';
import { dateTime, isMessageKey, translate, type Language, type MessageKey } from '../http/i18n.ts';
import type { Renderer } from '../http/render.ts';
import type { AuditLog, AuditType, StoredAuditEvent } from '../store/audit.ts';
import type { User } from '../store/users.ts';

/** How many events the page shows. */
export const HISTORY_LIMIT = 50;

/** The events an employee sees, each with its words. */
export const HISTORY_EVENTS = {
  'login.password.succeeded': 'history.login',
  'login.password.failed': 'history.loginFailed',
  'login.second_factor.succeeded': 'history.secondFactor',
  'login.second_factor.failed': 'history.secondFactorFailed',
  'challenge.approved': 'history.challengeApproved',
  'challenge.rejected': 'history.challengeRejected',
  'factor.locked': 'history.factorLocked',
  'factor.bound': 'history.deviceAdded',
  'factor.enrolled': 'history.deviceAdded',
  'device.paired': 'history.deviceAdded',
  'factor.removed': 'history.deviceRemoved',
  'factor.renamed': 'history.deviceRenamed',
  'code_viewer.reset': 'history.deviceRemoved',
  'code_viewer.marked': 'history.deviceRemoved',
  'device.revoked': 'history.deviceRemoved',
  'device.locked': 'history.factorLocked',
  'factor.default_set': 'history.defaultSet',
  'access_pass.redeemed': 'history.accessPass',
  'user.locked': 'history.userLocked',
  'user.unlocked': 'history.userUnlocked',
  'user.password.set': 'history.passwordSet',
} as const satisfies Partial<Record<AuditType, MessageKey>>;

/** The audit types of {@link HISTORY_EVENTS}, for the query. */
export const HISTORY_TYPES = Object.keys(HISTORY_EVENTS) as Array<keyof typeof HISTORY_EVENTS>;

/** One line of the history, in the page's language. */
export interface HistoryRow {
  /** ISO 8601, for `<time datetime>`. */
  at: string;
  /** The date and time in Danish time. */
  when: string;
  what: string;
  /** The address it came from, when the event has one. */
  ip: string | undefined;
  /** The system (OIDC client or SAML SP) the login was for, when there was one. */
  system: string | undefined;
  /** The device: its name while the employee still has it, else its kind (and a code viewer's serial). */
  device: string | undefined;
}

/**
 * The rows for `events` (newest first, as the log lists them); events of other types are left
 * out. `factors` are the employee's current devices, to name the one an event was about.
 */
export function historyRows(events: readonly StoredAuditEvent[], factors: readonly ListedFactor[], language: Language): HistoryRow[] {
  return events.flatMap((event) => {
    const key = (HISTORY_EVENTS as Partial<Record<AuditType, MessageKey>>)[event.type];
    if (!key) return [];
    return [{ at: event.occurredAt.toISOString(), when: dateTime(language, event.occurredAt), what: translate(language, key), ip: event.ip ?? undefined, system: event.clientId ?? undefined, device: deviceOf(event.details ?? {}, factors, language) }];
  });
}

/** The device an event's details point at (`tokenId` for codes, `deviceId` for computers and phones, `factorId` otherwise). */
function deviceOf(details: Record<string, unknown>, factors: readonly ListedFactor[], language: Language): string | undefined {
  const id = [details.tokenId, details.deviceId, details.factorId].find((value): value is string => typeof value === 'string');
  const current = id === undefined ? undefined : factors.find((factor) => factor.id === id);
  if (current) return current.name;
  const kindKey = `factor.kind.${String(details.kind)}`;
  if (!isMessageKey(kindKey)) return undefined;
  const kind = translate(language, kindKey);
  return typeof details.serial === 'string' ? `${kind} ${details.serial}` : kind;
}

/** What the history page needs from the portal around it. */
export interface HistoryPageDeps {
  render: Renderer;
  audit: Pick<AuditLog, 'list'>;
  factors: Pick<FactorRegistry, 'listForUser'>;
  /** The logged-in employee of the request. */
  who: (ctx: Context) => { user: Pick<User, 'id'> };
}

/** `GET /selfservice/history`: the employee's own last {@link HISTORY_LIMIT} events. */
export function historyPage(deps: HistoryPageDeps) {
  return async function showHistory(ctx: Context) {
    const { user } = deps.who(ctx);
    const [events, factors] = await Promise.all([
      deps.audit.list({ userId: user.id, types: HISTORY_TYPES, limit: HISTORY_LIMIT }),
      deps.factors.listForUser(user.id),
    ]);
    deps.render(ctx, 'selfservice-history', { rows: historyRows(events, factors, requestState(ctx).language) });
  };
}
