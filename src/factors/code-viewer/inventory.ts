/**
 * IT's inventory of code viewers ("kodevisere"): importing a vendor's batch into stock, and the
 * acts of support staff on one token known by its serial (back to stock, lost or defective,
 * unlock), plus the list of every TOTP token. No HTTP and no command line here: the `stepup
 * tokens` command (and any admin page later) calls these functions with the actor it serves.
 *
 * Every act that changes a token leaves one audit event, written by the function itself with
 * the caller's actor; no seed ever reaches a result, a message or the audit log.
 */
import { timingSafeEqual } from 'node:crypto';

import type { Knex } from 'knex';

import type { AuditType } from '../../store/audit.ts';
import type { Storage } from '../../store/index.ts';
import type { TotpStatus, TotpTokenRecord } from '../../store/totp-tokens.ts';
import { parseTokenCsv, parseTokenPskc, type ImportedToken, type ImportError, type ImportErrorCode } from './import/index.ts';
import { bilingual } from './import/messages.ts';
import { validateSerial } from './serial.ts';

/** The two token file formats: the simple CSV and PSKC (RFC 6030). */
export const TOKEN_FILE_FORMATS = ['csv', 'pskc'] as const;
export type TokenFileFormat = (typeof TOKEN_FILE_FORMATS)[number];

/** What the inventory needs of the storage. */
export type InventoryStorage = Pick<Storage, 'db' | 'totpTokens' | 'audit' | 'users'>;

/**
 * The format of a token file: the one asked for; else PSKC when the text starts like XML (`<`,
 * after a byte order mark and blank space); else PSKC when the name ends in `.xml` or `.pskc`
 * (so a broken XML file gets the XML parser's message, not "wrong CSV header"); else CSV.
 */
export function detectTokenFileFormat(options: { text: string; fileName?: string | undefined; format?: TokenFileFormat | undefined }): TokenFileFormat {
  if (options.format) return options.format;
  if (/^\uFEFF?\s*</.test(options.text)) return 'pskc';
  if (options.fileName && /\.(xml|pskc)$/i.test(options.fileName)) return 'pskc';
  return 'csv';
}

/**
 * Why an import was refused: a parser's code, or
 * - `in_inventory`: the serial is already in the inventory with another seed or other
 *   parameters (a second vendor batch reusing serials, or the wrong file);
 * - `concurrent`: another import stored some of the same serials while this one ran.
 */
export type InventoryImportErrorCode = ImportErrorCode | 'in_inventory' | 'concurrent';

/** One reason a file was refused, naming its row (`line 4`, `KeyPackage 2 (serial …)`). */
export interface InventoryImportError extends Omit<ImportError, 'code'> {
  code: InventoryImportErrorCode;
}

/** Options of {@link importCodeViewers}. */
export interface ImportCodeViewersOptions {
  storage: InventoryStorage;
  /** The file's text, already decoded (UTF-8). */
  text: string;
  /** The file's name (no directories): decides the format when the content does not, and goes to the audit log. */
  fileName?: string | undefined;
  /** The format; detected by {@link detectTokenFileFormat} when left out. */
  format?: TokenFileFormat | undefined;
  /** The pre-shared key of an encrypted PSKC file (RFC 6030 §6.1), as raw bytes. */
  psk?: Uint8Array | undefined;
  /** Who imports, for the audit log (`cli`, `user:<id>`). */
  actor: string;
}

/** What {@link importCodeViewers} did. */
export type ImportCodeViewersResult =
  | {
      ok: true;
      format: TokenFileFormat;
      /** How many code viewers went into stock; 0 when the file had been imported before. */
      imported: number;
      /** How many were in the inventory already, with the same seed and parameters (skipped). */
      alreadyImported: number;
      importedSerials: string[];
      alreadyImportedSerials: string[];
    }
  | { ok: false; format: TokenFileFormat; errors: InventoryImportError[] };

/** A unique violation: another transaction inserted the same serial first. */
class ConcurrentImport extends Error {}

/**
 * Imports a vendor's file of code viewers into stock, all or nothing. The file is parsed (CSV or
 * PSKC); then, in one transaction, each token is compared with the inventory: a serial already
 * there with the same seed (compared in constant time) and parameters is skipped as already
 * imported; a serial there with another seed or other parameters refuses the whole file, naming
 * its row; the rest go into stock, with one `code_viewer.imported` event (counts, format and
 * file name; never a seed). Importing the same file again therefore changes nothing, and a
 * file with any error writes nothing.
 */
export async function importCodeViewers(options: ImportCodeViewersOptions): Promise<ImportCodeViewersResult> {
  const { storage } = options;
  const format = detectTokenFileFormat(options);
  const parsed = format === 'pskc' ? parseTokenPskc({ xml: options.text, ...(options.psk ? { psk: options.psk } : {}) }) : parseTokenCsv({ text: options.text });
  if (!parsed.ok) return { ok: false, format, errors: parsed.errors };

  // Parameters of the serials already there, read before the transaction (embedded PGlite has
  // one connection, which the transaction holds); they never change once a token is stored.
  const serials = parsed.tokens.map((token) => token.serial);
  const overlap = await secretsOf(storage, serials);
  const parameters = new Map<string | null, TotpTokenRecord>(overlap.size ? (await storage.totpTokens.list()).map((record) => [record.serial, record]) : []);

  try {
    return await storage.db.transaction(async (trx): Promise<ImportCodeViewersResult> => {
      const stored = await secretsOf(storage, serials, trx);
      if ([...stored.keys()].some((serial) => !parameters.has(serial))) throw new ConcurrentImport('stored meanwhile');

      const errors: InventoryImportError[] = [];
      const fresh: ImportedToken[] = [];
      const already: string[] = [];
      for (const token of parsed.tokens) {
        const seed = stored.get(token.serial);
        if (seed === undefined) {
          fresh.push(token);
          continue;
        }
        const record = parameters.get(token.serial);
        if (!sameSeed(seed, token.secret)) {
          errors.push({ where: token.where, code: 'in_inventory', message: inInventoryMessage(token.serial, 'seed') });
        } else if (!record || record.algorithm !== token.algorithm || record.digits !== token.digits || record.period !== token.period) {
          errors.push({ where: token.where, code: 'in_inventory', message: inInventoryMessage(token.serial, 'parameters', record) });
        } else {
          already.push(token.serial);
        }
      }
      if (errors.length) return { ok: false, format, errors };

      if (fresh.length) {
        try {
          for (const batch of batches(fresh)) {
            await storage.totpTokens.addToStock(batch.map(({ serial, secret, algorithm, digits, period }) => ({ serial, secret, algorithm, digits, period })), trx);
          }
        } catch (error) {
          if ((error as { code?: unknown }).code === '23505') throw new ConcurrentImport('unique violation', { cause: error });
          throw error;
        }
        await storage.audit.record({
          type: 'code_viewer.imported',
          actor: options.actor,
          details: { format, file: options.fileName ?? null, count: fresh.length, skipped: already.length },
        }, trx);
      }
      return {
        ok: true,
        format,
        imported: fresh.length,
        alreadyImported: already.length,
        importedSerials: fresh.map((token) => token.serial),
        alreadyImportedSerials: already,
      };
    });
  } catch (error) {
    if (!(error instanceof ConcurrentImport)) throw error;
    return {
      ok: false,
      format,
      errors: [{
        where: 'file',
        code: 'concurrent',
        message: bilingual(
          'En anden import gemte nogle af de samme serienumre samtidig; intet blev gemt, prøv igen',
          'Another import stored some of the same serial numbers at the same time; nothing was stored, try again',
        ),
      }],
    };
  }
}

/**
 * Rows per statement: Postgres takes at most 65535 bind parameters in one statement, and a
 * vendor batch can hold ten thousand code viewers.
 */
const BATCH = 1000;

function batches<T>(items: readonly T[]): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += BATCH) result.push(items.slice(start, start + BATCH));
  return result;
}

/** The stored seeds of those serials that are in the inventory, in batches. */
async function secretsOf(storage: InventoryStorage, serials: string[], trx?: Knex.Transaction): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  for (const batch of batches(serials)) {
    for (const [serial, seed] of await storage.totpTokens.secretsOfSerials(batch, trx)) found.set(serial, seed);
  }
  return found;
}

/** Seeds compared in constant time (a length difference is no secret: lengths come from the file). */
function sameSeed(stored: Uint8Array, imported: Uint8Array): boolean {
  return stored.length === imported.length && timingSafeEqual(stored, imported);
}

function inInventoryMessage(serial: string, what: 'seed' | 'parameters', record?: TotpTokenRecord): string {
  if (what === 'seed') {
    return bilingual(
      `Serienummeret ${serial} findes allerede i beholdningen med en anden hemmelighed`,
      `The serial number ${serial} is already in the inventory with a different secret`,
    );
  }
  const stored = record ? `${record.algorithm}, ${record.digits}, ${record.period}` : '?';
  return bilingual(
    `Serienummeret ${serial} findes allerede i beholdningen med samme hemmelighed men andre parametre (${stored})`,
    `The serial number ${serial} is already in the inventory with the same secret but other parameters (${stored})`,
  );
}

// ---------------------------------------------------------------------------------------------
// One code viewer, by serial

/** A code viewer IT names by its serial could not be acted on. */
export type InventoryFailure = {
  ok: false;
  /** `serial`: not a valid serial; `not_found`: no code viewer has it. */
  reason: 'serial' | 'not_found';
  /** For the person: Danish first, then English. */
  message: string;
};

/** Who acts on the inventory and which code viewer, by its serial as typed. */
export interface InventoryActOptions {
  /** The acts on one code viewer need no transaction of the caller's, so no `db`. */
  storage: Omit<InventoryStorage, 'db'>;
  /** The serial as typed; spaces and dashes between groups are dropped. */
  serial: string;
  /** Who acts, for the audit log (`cli`, `user:<id>`). */
  actor: string;
  /**
   * Set when the employee who holds the code viewer acts on it in self-service: only a code
   * viewer in use by `userId` is touched (else `not_found`, nothing written, even if IT reset it
   * and a colleague bound it meanwhile), and the audit event says why and from where.
   */
  holder?: CodeViewerHolder | undefined;
}

/** The employee acting on their own code viewer: who, why (`reason`), and from where. */
export interface CodeViewerHolder {
  userId: string;
  reason: string;
  ip?: string | undefined;
  requestId?: string | undefined;
}

/** Finds a code viewer by a typed serial. */
export async function findCodeViewer(storage: Pick<Storage, 'totpTokens'>, serial: string): Promise<{ ok: true; token: TotpTokenRecord } | InventoryFailure> {
  const checked = validateSerial({ serial });
  if (!checked.valid) return { ok: false, reason: 'serial', message: checked.message };
  const token = await storage.totpTokens.findBySerial(checked.serial);
  if (!token || token.kind !== 'code_viewer') {
    return {
      ok: false,
      reason: 'not_found',
      message: bilingual(`Der er ingen kodeviser med serienummeret ${checked.serial}`, `There is no code viewer with the serial number ${checked.serial}`),
    };
  }
  return { ok: true, token };
}

/** A code viewer after an act; `changed` is false when it was already so (nothing was written). */
export type InventoryActResult = { ok: true; changed: boolean; before: TotpTokenRecord; token: TotpTokenRecord } | InventoryFailure;

/**
 * Puts a code viewer back in stock (IT hands it to a colleague, or it was found again): unbound
 * from its user, name, counters and lock cleared (`returnToStock`). The last accepted step is
 * kept, so no code the previous holder used is accepted again. Audits `code_viewer.reset` with
 * the previous user. A code viewer already in stock with nothing counted is left alone.
 */
export async function resetCodeViewer(options: InventoryActOptions): Promise<InventoryActResult> {
  const found = await findActedOn(options);
  if (!found.ok) return found;
  const { token } = found;
  // An in-stock serial can carry wrong codes typed at binding (and a lock): reset clears those too.
  const untouched = token.failureCount === 0 && token.lockCount === 0 && token.lockedUntil === null;
  if (token.status === 'in_stock' && token.userId === null && untouched) return { ok: true, changed: false, before: token, token };
  if (!(await options.storage.totpTokens.returnToStock(token.id, options.holder?.userId))) return notHeld(options);
  await audit(options, 'code_viewer.reset', token, { statusWas: token.status, nameWas: token.name });
  return { ok: true, changed: true, before: token, token: await reread(options.storage, token) };
}

/** What a code viewer can be marked as: out of use until reset. */
export const MARKS = ['lost', 'defective'] as const satisfies readonly TotpStatus[];
export type CodeViewerMark = (typeof MARKS)[number];

/**
 * Marks a code viewer lost or defective: no code from it is accepted any more (only `assigned`
 * tokens verify), and it stays with its user in the records until reset. Audits
 * `code_viewer.marked`. Marking it as what it already is changes nothing.
 */
export async function markCodeViewer(options: InventoryActOptions & { mark: CodeViewerMark }): Promise<InventoryActResult> {
  const found = await findActedOn(options);
  if (!found.ok) return found;
  const { token } = found;
  if (token.status === options.mark) return { ok: true, changed: false, before: token, token };
  if (!(await options.storage.totpTokens.setStatus(token.id, options.mark, options.holder?.userId))) return notHeld(options);
  await audit(options, 'code_viewer.marked', token, { status: options.mark, statusWas: token.status });
  return { ok: true, changed: true, before: token, token: await reread(options.storage, token) };
}

/**
 * Lifts a code viewer's lock after wrong codes: failure and lock counters cleared, a locked
 * token back in use. Always audits `factor.unlocked` (with what was lifted), as lifting a lock is
 * an act worth recording even when it had run out. `changed` says whether anything was locked
 * or counted at `now`.
 */
export async function unlockCodeViewer(options: InventoryActOptions & { now?: () => number }): Promise<InventoryActResult> {
  const found = await findCodeViewer(options.storage, options.serial);
  if (!found.ok) return found;
  const { token } = found;
  const now = (options.now ?? Date.now)();
  const wasLocked = isLocked(token, now);
  await options.storage.totpTokens.unlock(token.id);
  await audit(options, 'factor.unlocked', token, {
    statusWas: token.status,
    lockedUntilWas: token.lockedUntil?.toISOString() ?? null,
    failureCountWas: token.failureCount,
    lockCountWas: token.lockCount,
  });
  return { ok: true, changed: wasLocked || token.failureCount > 0 || token.lockCount > 0, before: token, token: await reread(options.storage, token) };
}

/** The code viewer an act names: by its serial, and with a holder only one in use by them. */
async function findActedOn(options: InventoryActOptions): Promise<{ ok: true; token: TotpTokenRecord } | InventoryFailure> {
  const found = await findCodeViewer(options.storage, options.serial);
  const { holder } = options;
  if (found.ok && holder && (found.token.userId !== holder.userId || found.token.status !== 'assigned')) return notHeld(options);
  return found;
}

/** A holder's act on a code viewer that is not (or no longer) theirs: told as no such code viewer. */
function notHeld(options: InventoryActOptions): InventoryFailure {
  return { ok: false, reason: 'not_found', message: bilingual(`Du har ingen kodeviser med serienummeret ${options.serial}`, `You have no code viewer with the serial number ${options.serial}`) };
}

async function audit(options: InventoryActOptions, type: AuditType, token: TotpTokenRecord, details: Record<string, unknown>): Promise<void> {
  const user = token.userId ? await options.storage.users.findById(token.userId) : undefined;
  const { holder } = options;
  await options.storage.audit.record({
    type,
    actor: options.actor,
    userId: token.userId,
    username: user?.username ?? null,
    ip: holder?.ip,
    requestId: holder?.requestId,
    details: { tokenId: token.id, kind: token.kind, serial: token.serial, ...details, ...(holder ? { reason: holder.reason } : {}) },
  });
}

async function reread(storage: Pick<Storage, 'totpTokens'>, token: TotpTokenRecord): Promise<TotpTokenRecord> {
  return (await storage.totpTokens.find(token.id)) ?? token;
}

// ---------------------------------------------------------------------------------------------
// The list

/**
 * Every status, for a filter. In the list a token is `locked` while a lock after wrong codes
 * runs (the stored status stays `assigned`; the lock is a time), else it has its stored status.
 */
export const INVENTORY_STATUSES = ['in_stock', 'assigned', 'locked', 'lost', 'defective', 'pending'] as const satisfies readonly TotpStatus[];

/** A token in the list: facts for support, never its seed. */
export interface InventoryEntry {
  id: string;
  /** Null for an authenticator app. */
  serial: string | null;
  kind: TotpTokenRecord['kind'];
  /** As in {@link INVENTORY_STATUSES}: `locked` while a lock runs. */
  status: TotpStatus;
  /** The holder's username, null in stock. */
  username: string | null;
  name: string | null;
  /** Steps the token's clock runs ahead (+) or behind (-). */
  drift: number;
  lastUsedAt: Date | null;
  /** Set while a lock runs. */
  lockedUntil: Date | null;
  assignedAt: Date | null;
  createdAt: Date;
}

/** Whether the token is locked at `now`: by status, or by a lock after wrong codes that still runs. */
function isLocked(token: TotpTokenRecord, now: number): boolean {
  return token.status === 'locked' || (token.lockedUntil !== null && token.lockedUntil.getTime() > now);
}

/**
 * Every code viewer and authenticator app, by kind and serial, optionally of one status (see
 * {@link INVENTORY_STATUSES}: `locked` includes tokens whose lock after wrong codes still runs).
 */
export async function listInventory(options: { storage: Pick<Storage, 'totpTokens' | 'users'>; status?: TotpStatus | undefined; now?: () => number }): Promise<InventoryEntry[]> {
  const now = (options.now ?? Date.now)();
  const records = await options.storage.totpTokens.list();
  const usernames = new Map<string, string | null>();
  for (const userId of new Set(records.map((record) => record.userId).filter((id): id is string => id !== null))) {
    usernames.set(userId, (await options.storage.users.findById(userId))?.username ?? null);
  }
  return records
    .map((record) => toEntry(record, record.userId ? (usernames.get(record.userId) ?? null) : null, now))
    .filter((entry) => options.status === undefined || entry.status === options.status);
}

/** One token as the list shows it, its holder looked up. */
export async function inventoryEntry(options: { storage: Pick<Storage, 'users'>; token: TotpTokenRecord; now?: () => number }): Promise<InventoryEntry> {
  const { token } = options;
  const username = token.userId ? ((await options.storage.users.findById(token.userId))?.username ?? null) : null;
  return toEntry(token, username, (options.now ?? Date.now)());
}

function toEntry(record: TotpTokenRecord, username: string | null, now: number): InventoryEntry {
  const locked = record.lockedUntil !== null && record.lockedUntil.getTime() > now;
  return {
    id: record.id,
    serial: record.serial,
    kind: record.kind,
    status: record.status === 'assigned' && locked ? 'locked' : record.status,
    username,
    name: record.name,
    drift: record.drift,
    lastUsedAt: record.lastUsedAt,
    lockedUntil: locked ? record.lockedUntil : null,
    assignedAt: record.assignedAt,
    createdAt: record.createdAt,
  };
}
