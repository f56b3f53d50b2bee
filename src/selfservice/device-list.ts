/**
 * The employee's devices as the portal lists them (issue "Step 6"): for each its name, its kind
 * (with a code viewer's serial), when it was added and last used in Danish time, its status, and
 * which of the actions under "Handlinger" its kind offers. Decided here, as data; the page only
 * lays the rows out.
 */
import type { FactorKind, FactorStatus, ListedFactor } from '../factors/factor.ts';
import { dateTime, isMessageKey, translate, type Language } from '../http/i18n.ts';

/** A time as the list shows it: ISO 8601 for `<time datetime>`, and the words. */
export interface ShownTime {
  at: string;
  text: string;
}

/** One device in the list, in the page's language. */
export interface DeviceRow {
  id: string;
  name: string;
  isDefault: boolean;
  /** The kind in words, and what else tells it apart: `Kodeviser · serienummer 5000000000011`. */
  kind: string;
  added: ShownTime;
  /** Undefined for a device never used. */
  lastUsed: ShownTime | undefined;
  status: FactorStatus;
  /** The status in words; a lock says until when. */
  statusText: string;
  canRename: boolean;
  /** Only a usable device that is not the default already: a pending one cannot be offered at login. */
  canMakeDefault: boolean;
  canRemove: boolean;
}

const shown = (language: Language, date: Date): ShownTime => ({ at: date.toISOString(), text: dateTime(language, date) });

/**
 * The kind's words (`factor.kind.<name>`, or its name for a kind registered without them) and
 * its detail, in the kind's words for it (`factor.detail.<name>`) where it has them.
 */
export function deviceKindWords(factor: Pick<ListedFactor, 'kind' | 'detail'>, language: Language): string {
  const key = `factor.kind.${factor.kind}`;
  const kind = isMessageKey(key) ? translate(language, key) : factor.kind;
  if (factor.detail === null) return kind;
  const detailKey = `factor.detail.${factor.kind}`;
  return `${kind} · ${isMessageKey(detailKey) ? translate(language, detailKey, { detail: factor.detail }) : factor.detail}`;
}

function statusWords(factor: ListedFactor, language: Language): string {
  switch (factor.status) {
    case 'locked':
      return translate(language, 'ss.status.locked', { time: factor.lockedUntil ? dateTime(language, factor.lockedUntil) : '' });
    case 'pending':
      return translate(language, 'ss.status.pending');
    case 'active':
      return translate(language, 'ss.status.active');
  }
}

/**
 * The rows of the list, in the order given (the registry's: the default first, then the last
 * used). `kindOf` looks up a factor's kind, whose optional `rename` and `remove` decide whether
 * it offers those actions.
 */
export function deviceRows(options: { factors: readonly ListedFactor[]; kindOf: (name: string) => FactorKind | undefined; language: Language }): DeviceRow[] {
  const { language } = options;
  return options.factors.map((factor) => {
    const kind = options.kindOf(factor.kind);
    return {
      id: factor.id,
      name: factor.name,
      isDefault: factor.isDefault,
      kind: deviceKindWords(factor, language),
      added: shown(language, factor.addedAt),
      lastUsed: factor.lastUsedAt ? shown(language, factor.lastUsedAt) : undefined,
      status: factor.status,
      statusText: statusWords(factor, language),
      canRename: Boolean(kind?.rename),
      canMakeDefault: factor.status !== 'pending' && !factor.isDefault,
      canRemove: Boolean(kind?.remove),
    };
  });
}
