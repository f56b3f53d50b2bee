import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

import type { FactorLockoutLimits, TotpWindows } from '../../config/index.ts';
import {
  detectTokenFileFormat,
  findCodeViewer,
  importCodeViewers,
  INVENTORY_STATUSES,
  inventoryEntry,
  listInventory,
  MARKS,
  markCodeViewer,
  resetCodeViewer,
  TOKEN_FILE_FORMATS,
  unlockCodeViewer,
  type InventoryActResult,
  type InventoryEntry,
  type InventoryFailure,
  type InventoryStorage,
  type TokenFileFormat,
} from '../../factors/code-viewer/inventory.ts';
import { createTotpFactors } from '../../factors/totp-factors.ts';
import type { TotpTokenRecord } from '../../store/totp-tokens.ts';
import { CliError, UsageError } from '../errors.ts';
import type { Output } from '../output.ts';
import { checkDisplayName, checkOneOf, printable } from '../validate.ts';

/** The audit actor for everything the command does. */
const ACTOR = 'cli';

/** The largest token file read: a batch of ten thousand PSKC keys is about 15 MB. */
export const MAX_TOKEN_FILE_BYTES = 64 * 1024 * 1024;

/** What `stepup` shows of a code viewer or authenticator app: never its seed. */
export interface TokenSummary {
  serial: string | null;
  kind: TotpTokenRecord['kind'];
  status: TotpTokenRecord['status'];
  /** The holder's username; null in stock. */
  user: string | null;
  name: string | null;
  drift: number;
  last_used_at: string | null;
  locked_until: string | null;
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

const summary = (entry: InventoryEntry): TokenSummary => ({
  serial: entry.serial,
  kind: entry.kind,
  status: entry.status,
  user: entry.username,
  name: entry.name,
  drift: entry.drift,
  last_used_at: iso(entry.lastUsedAt),
  locked_until: iso(entry.lockedUntil),
});

// ---------------------------------------------------------------------------------------------
// import

export interface ImportTokensInput {
  /** The path as typed. */
  file: string;
  /** `csv` or `pskc`; detected from the content and the file name when left out. */
  format?: string | undefined;
  /** The pre-shared key of an encrypted PSKC file, in hex (spaces and colons allowed). */
  pskHex?: string | undefined;
}

export interface ImportTokensResult {
  file: string;
  format: TokenFileFormat;
  imported: number;
  alreadyImported: number;
  serials: { imported: string[]; alreadyImported: string[] };
}

/**
 * Imports a vendor's token file into stock (`stepup tokens import`): all or nothing. Refused
 * files write nothing; every error is printed on its own line, naming its row.
 */
export async function importTokens(
  deps: { storage: InventoryStorage },
  input: ImportTokensInput,
  out: Output,
): Promise<ImportTokensResult> {
  const format = input.format === undefined ? undefined : checkOneOf(input.format, TOKEN_FILE_FORMATS, '--format');
  const psk = input.pskHex === undefined ? undefined : checkPskHex(input.pskHex);
  const text = await readTokenFile(input.file);
  const fileName = basename(input.file);
  const detected = detectTokenFileFormat({ text, fileName, format });
  if (psk && detected === 'csv') out.notice('--psk-hex applies only to PSKC files; it was not used');

  const result = await importCodeViewers({ storage: deps.storage, text, fileName, format: detected, ...(psk ? { psk } : {}), actor: ACTOR });
  if (!result.ok) {
    const conflict = result.errors.every((error) => error.code === 'in_inventory' || error.code === 'concurrent');
    const count = result.errors.length;
    throw new CliError(conflict ? 'conflict' : 'invalid_input', [
      `${printable(fileName)} (${result.format}) was not imported, nothing was written: ${count} ${count === 1 ? 'error' : 'errors'}`,
      ...result.errors.map((error) => `  ${printable(error.where)} [${error.code}]: ${printable(error.message, 500)}`),
    ].join('\n'));
  }

  if (result.imported === 0) {
    out.line(`Nothing imported from ${printable(fileName)} (${result.format}): all ${result.alreadyImported} code viewers in it are in the inventory already.`);
  } else {
    out.line(`Imported ${result.imported} code ${result.imported === 1 ? 'viewer' : 'viewers'} into stock from ${printable(fileName)} (${result.format}).`);
    if (result.alreadyImported) out.line(`${result.alreadyImported} more ${result.alreadyImported === 1 ? 'was' : 'were'} in the inventory already, with the same secret (skipped).`);
  }
  return {
    file: fileName,
    format: result.format,
    imported: result.imported,
    alreadyImported: result.alreadyImported,
    serials: { imported: result.importedSerials, alreadyImported: result.alreadyImportedSerials },
  };
}

/** A pre-shared key in hex: 16, 24 or 32 bytes (AES-128, -192, -256), spaces and colons allowed. */
export function checkPskHex(text: string): Uint8Array {
  const hex = text.replace(/[\s:]/g, '');
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex) || ![16, 24, 32].includes(hex.length / 2)) {
    // The value itself is never echoed: it is a key.
    throw new CliError('invalid_input', '--psk-hex must be 32, 48 or 64 hex digits (an AES-128, -192 or -256 key)');
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** The file's text: UTF-8 (a byte order mark is fine), at most {@link MAX_TOKEN_FILE_BYTES}. */
async function readTokenFile(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (code ?? 'unreadable');
    throw new CliError(code === 'ENOENT' ? 'not_found' : 'invalid_input', `cannot read "${printable(path)}": ${why}`, { cause: error });
  }
  if (bytes.length > MAX_TOKEN_FILE_BYTES) throw new CliError('invalid_input', `"${printable(path)}" is larger than ${MAX_TOKEN_FILE_BYTES / 1024 / 1024} MB`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new CliError('invalid_input', `"${printable(path)}" is not UTF-8 text`, { cause: error });
  }
}

// ---------------------------------------------------------------------------------------------
// list

/** Every code viewer and authenticator app (`stepup tokens list`), optionally of one status. */
export async function listTokens(
  deps: { storage: InventoryStorage },
  input: { status?: string | undefined },
  out: Output,
): Promise<{ tokens: TokenSummary[] }> {
  const status = input.status === undefined ? undefined : checkOneOf(input.status, INVENTORY_STATUSES, '--status');
  const tokens = (await listInventory({ storage: deps.storage, status })).map(summary);
  if (tokens.length === 0) {
    out.line(status ? `No tokens with status ${status}.` : 'No tokens.');
    return { tokens };
  }
  const rows = tokens.map((token) => [
    token.serial ?? '-',
    token.kind,
    token.status,
    printable(token.user ?? '-', 40),
    printable(token.name ?? '-', 40),
    token.drift > 0 ? `+${token.drift}` : String(token.drift),
    minute(token.last_used_at),
    minute(token.locked_until),
  ]);
  const header = ['SERIAL', 'KIND', 'STATUS', 'USER', 'NAME', 'DRIFT', 'LAST USED', 'LOCKED UNTIL'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => [...(row[column] ?? '')].length)));
  for (const row of [header, ...rows]) {
    out.line(row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ').trimEnd());
  }
  return { tokens };
}

/** `2026-11-24 20:37Z`, or `-`. */
const minute = (value: string | null) => (value ? `${value.slice(0, 10)} ${value.slice(11, 16)}Z` : '-');

// ---------------------------------------------------------------------------------------------
// reset, mark, unlock

/** A code viewer after an act of IT, as `stepup` shows it. */
export interface TokenActResult {
  token: TokenSummary;
  /** False when it already was so (nothing was written). */
  changed: boolean;
}

/** Back to stock (`stepup tokens reset`): unbound, name, counters and lock cleared. */
export async function resetToken(deps: { storage: InventoryStorage }, input: { serial: string }, out: Output): Promise<TokenActResult & { previousUser: string | null }> {
  const result = acted(await resetCodeViewer({ storage: deps.storage, serial: input.serial, actor: ACTOR }));
  const previousUser = await usernameOf(deps.storage, result.before.userId);
  if (!result.changed) out.line(`Code viewer ${result.token.serial} is in stock already.`);
  else out.line(`Code viewer ${result.token.serial} is back in stock; it was ${result.before.status}${previousUser ? `, with ${printable(previousUser)}` : ''}.`);
  return { token: await tokenSummary(deps.storage, result.token), changed: result.changed, previousUser };
}

/** Out of use (`stepup tokens mark`): no code from it is accepted until it is reset. */
export async function markToken(deps: { storage: InventoryStorage }, input: { serial: string; mark: string }, out: Output): Promise<TokenActResult> {
  const mark = checkOneOf(input.mark, MARKS, 'the mark');
  const result = acted(await markCodeViewer({ storage: deps.storage, serial: input.serial, mark, actor: ACTOR }));
  if (!result.changed) out.line(`Code viewer ${result.token.serial} is marked ${mark} already.`);
  else out.line(`Marked code viewer ${result.token.serial} ${mark} (it was ${result.before.status}); no code from it is accepted until it is reset.`);
  return { token: await tokenSummary(deps.storage, result.token), changed: result.changed };
}

/** Lifts a lock after wrong codes (`stepup tokens unlock`). */
export async function unlockToken(deps: { storage: InventoryStorage }, input: { serial: string }, out: Output): Promise<TokenActResult> {
  const result = acted(await unlockCodeViewer({ storage: deps.storage, serial: input.serial, actor: ACTOR }));
  if (result.changed) out.line(`Unlocked code viewer ${result.token.serial}: its wrong-code counters are cleared.`);
  else out.line(`Code viewer ${result.token.serial} was not locked.`);
  return { token: await tokenSummary(deps.storage, result.token), changed: result.changed };
}

/** The result of an inventory act, or its failure as a {@link CliError}. */
function acted(result: InventoryActResult): Extract<InventoryActResult, { ok: true }> {
  if (!result.ok) throw inventoryError(result);
  return result;
}

function inventoryError(failure: InventoryFailure): CliError {
  return new CliError(failure.reason === 'not_found' ? 'not_found' : 'invalid_input', failure.message);
}

async function usernameOf(storage: InventoryStorage, userId: string | null): Promise<string | null> {
  return userId ? ((await storage.users.findById(userId))?.username ?? null) : null;
}

async function tokenSummary(storage: InventoryStorage, token: TotpTokenRecord): Promise<TokenSummary> {
  return summary(await inventoryEntry({ storage, token }));
}

// ---------------------------------------------------------------------------------------------
// assign, resync

/** What binding and resynchronisation need: the TOTP windows and factor lock limits of the configuration. */
export interface TotpDeps {
  storage: InventoryStorage;
  windows: TotpWindows;
  limits: FactorLockoutLimits;
  /** The clock, epoch ms. */
  now: () => number;
}

const factorsOf = (deps: TotpDeps) =>
  createTotpFactors({ tokens: deps.storage.totpTokens, audit: deps.storage.audit, windows: deps.windows, limits: deps.limits, now: deps.now });

export interface AssignTokenInput {
  serial: string;
  username: string;
  /** The name the holder sees for it (`--name`). */
  name?: string | undefined;
  /** The code it shows now (`--code`); proves IT holds the token it names. */
  code?: string | undefined;
}

/**
 * Binds a code viewer from stock to an employee (`stepup tokens assign`), with the same checks
 * as self-service: the serial, and a code it shows now within the binding window. Wrong codes
 * count against the serial and the employee as in self-service, and a lock of either refuses
 * even the right code. Audited as `factor.bound` (or `factor.bind_failed`) with actor `cli`.
 * The code is never printed.
 */
export async function assignToken(deps: TotpDeps, input: AssignTokenInput, out: Output): Promise<{ token: TokenSummary }> {
  if (input.name === undefined) throw new UsageError('--name is required', 'tokens assign');
  if (input.code === undefined) throw new UsageError('--code is required', 'tokens assign');
  const name = checkDisplayName(input.name);
  const found = await findCodeViewer(deps.storage, input.serial);
  if (!found.ok) throw inventoryError(found);
  const user = await deps.storage.users.findByUsername(input.username);
  if (!user) throw new CliError('not_found', `there is no user "${printable(input.username)}"`);
  if (found.token.status !== 'in_stock') throw await notInStock(deps.storage, found.token);

  const factors = factorsOf(deps);
  const first = (await factors.listForUser(user.id)).length === 0;
  const result = await factors.bindCodeViewer({ userId: user.id, serial: found.token.serial as string, name, code: input.code, context: { actor: ACTOR } });
  if (!result.ok) {
    if (result.reason === 'not_in_stock') throw await notInStock(deps.storage, (await deps.storage.totpTokens.find(found.token.id)) ?? found.token);
    const until = iso(result.lockedUntil ?? null);
    if (result.reason === 'locked') {
      throw new CliError('conflict', `code viewer ${found.token.serial} is locked until ${until} after wrong codes; nothing is bound while it is (\`stepup tokens unlock ${found.token.serial}\` lifts the lock)`);
    }
    if (result.reason === 'user_locked') {
      throw new CliError('conflict', `${printable(user.username)} may not bind a code viewer until ${until}: too many wrong codes were typed binding code viewers to them`);
    }
    throw new CliError('invalid_input', codeMessage(result.reason, found.token, deps.windows.bind));
  }
  if (first) {
    // IT handing over a device in person is how the first factor was allowed; the audit log says so.
    await deps.storage.audit.record({ type: 'factor.first_enrolled', actor: ACTOR, userId: user.id, details: { factorId: result.token.id, allowedBy: 'it-support' } });
  }
  const drift = result.token.drift;
  out.line(`Assigned code viewer ${result.token.serial} to ${user.username} as "${printable(name)}" (its clock is ${driftText(drift)}).`);
  return { token: await tokenSummary(deps.storage, result.token) };
}

/**
 * Resynchronises a far-drifted code viewer (`stepup tokens resync`) from two consecutive codes
 * (RFC 6238 §6), within the resync window around its last drift. Audited as `factor.resynced`.
 */
export async function resyncToken(deps: TotpDeps, input: { serial: string; code1: string; code2: string }, out: Output): Promise<{ token: TokenSummary; driftWas: number }> {
  const found = await findCodeViewer(deps.storage, input.serial);
  if (!found.ok) throw inventoryError(found);
  const { token } = found;
  const result = await factorsOf(deps).resync({ tokenId: token.id, code1: input.code1, code2: input.code2, context: { actor: ACTOR } });
  if (!result.ok) {
    if (result.reason === 'not_found') {
      throw new CliError('conflict', `code viewer ${token.serial} is not in use (status ${token.status}); only an assigned code viewer can be resynchronised`);
    }
    throw new CliError('invalid_input', codeMessage(result.reason, token, deps.windows.resync, true));
  }
  out.line(`Resynchronised code viewer ${token.serial}: its clock is ${driftText(result.drift)} (was ${driftText(token.drift)}).`);
  const resynced = (await deps.storage.totpTokens.find(token.id)) ?? token;
  return { token: await tokenSummary(deps.storage, resynced), driftWas: token.drift };
}

async function notInStock(storage: InventoryStorage, token: TotpTokenRecord): Promise<CliError> {
  const holder = await usernameOf(storage, token.userId);
  return new CliError(
    'conflict',
    `code viewer ${token.serial} is not in stock (status ${token.status}${holder ? `, ${printable(holder)}` : ''}); \`stepup tokens reset ${token.serial}\` puts it back`,
  );
}

/** Why a code (or two) was not accepted, in a line for the operator; never the code itself. */
function codeMessage(reason: string, token: TotpTokenRecord, window: number, two = false): string {
  const codes = two ? 'the codes' : 'the code';
  switch (reason) {
    case 'malformed':
      return `${codes} must be ${token.digits} digits`;
    case 'replayed':
      return `${codes} ${two ? 'were' : 'was'} used already; wait for the next ${two ? 'two' : 'one'}`;
    case 'invalid':
      return two
        ? `the codes are not two consecutive codes of code viewer ${token.serial} within ±${window} steps of its clock; check the serial and read two new codes`
        : `the code is not one that code viewer ${token.serial} shows within ±${window} steps of now; check the serial and read a new code`;
    case 'locked':
      return `code viewer ${token.serial} is locked after wrong codes; \`stepup tokens unlock ${token.serial}\` lifts the lock`;
    default:
      return `${codes} ${two ? 'were' : 'was'} not accepted (${reason})`;
  }
}

function driftText(drift: number): string {
  if (drift === 0) return 'on time';
  const steps = Math.abs(drift);
  return `${steps} ${steps === 1 ? 'step' : 'steps'} ${drift > 0 ? 'fast' : 'slow'}`;
}
