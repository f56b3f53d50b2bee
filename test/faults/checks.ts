import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

import type { Knex } from 'knex';
import type * as client from 'openid-client';

import { CLIENT_ID } from './bed.ts';

/** Rows that must survive any outage, counted. */
export async function rowCounts(db: Knex): Promise<{ users: number; clients: number; signingKeys: number; grants: number; passwordLogins: number }> {
  const count = async (query: Knex.QueryBuilder) => Number(((await query.count({ n: '*' }).first()) as { n: string | number }).n);
  return {
    users: await count(db('users')),
    clients: await count(db('oidc_clients')),
    signingKeys: await count(db('signing_keys')),
    grants: await count(db('oidc_payloads').where({ model: 'Grant' })),
    passwordLogins: await count(db('audit_events').where({ type: 'login.password.succeeded' })),
  };
}

/** A token endpoint request of {@link CLIENT_ID}'s, by hand (to see status and headers), at `node` or the issuer. */
export function tokenRequest(rp: client.Configuration, params: Record<string, string>, node?: string): Promise<Response> {
  const endpoint = new URL(rp.serverMetadata().token_endpoint as string);
  const url = node ? `${new URL(node).origin}${endpoint.pathname}` : endpoint.href;
  return fetch(url, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_ID}-secret-that-is-long-enough-to-be-strong`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
}

interface LogLine {
  level: number;
  msg: string;
  requestId?: string;
  outage?: string;
}

/**
 * A server's log read for the battery: the outage lines (one per answer, each with its request
 * id) and any line at error level or above (there should be none: an outage is no error of ours).
 */
export function outageLog(output: string): { outages: LogLine[]; errors: string[] } {
  const lines = output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine);
  return {
    outages: lines.filter((line) => line.msg === 'storage unavailable'),
    errors: lines.filter((line) => line.level >= 50).map((line) => JSON.stringify(line)),
  };
}

/**
 * Rows a transaction cut short would leave half-written, described; empty when every binding and
 * every device registration is whole: an assigned code viewer has its employee, name and time,
 * one in stock has none; a device is active exactly when its pairing code was consumed.
 */
export async function halfWrittenRows(db: Knex): Promise<string[]> {
  const tokens = (await db('totp_tokens').where({ kind: 'code_viewer' })
    .andWhere((q) => q
      .where((assigned) => assigned.where({ status: 'assigned' }).andWhere((missing) => missing.whereNull('user_id').orWhereNull('name').orWhereNull('assigned_at').orWhereNull('last_step')))
      .orWhere((stock) => stock.where({ status: 'in_stock' }).andWhere((kept) => kept.whereNotNull('user_id').orWhereNotNull('assigned_at'))))
    .select('serial', 'status')) as Array<{ serial: string; status: string }>;
  const devices = (await db('devices').join('pairing_codes', 'pairing_codes.id', 'devices.pairing_code_id')
    .whereRaw("(devices.status = 'active') <> (pairing_codes.consumed_at is not null)")
    .orWhereRaw("(devices.status = 'active') <> (devices.paired_at is not null)")
    .select('devices.id', 'devices.status')) as Array<{ id: string; status: string }>;
  return [...tokens.map((t) => `code viewer ${t.serial} ${t.status} half-written`), ...devices.map((d) => `device ${d.id} ${d.status} without its pairing`)];
}

const STEPUP = fileURLToPath(new URL('../../bin/stepup.js', import.meta.url));

/** Runs `stepup <args>` as an operator does, with `env` (the nodes' database, Redis and SECRET_KEY). */
export async function runStepup(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [STEPUP, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}
