import { randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';
import type { Knex } from 'knex';

import { codeAt, makeCodeViewer } from '../helpers/totp.ts';
import { pairingCodeFor, TestDevice } from '../devices/device-client.ts';
import { startFaultBed, type FaultBed } from './bed.ts';
import { halfWrittenRows, outageLog, rowCounts, runStepup, tokenRequest } from './checks.ts';
import { attemptLogin, judge, keepLoggingIn, tally, untilLoginWorks, untilStatus } from './logins.ts';
import { requireFaultServices, waitFor } from './services.ts';

type CodeViewer = ReturnType<typeof makeCodeViewer>;

/** Backends of other processes inside a transaction that has inserted code viewers and not committed. */
async function importsWriting(db: Knex): Promise<number> {
  const { rows } = (await db.raw(`select count(*)::int as n from pg_stat_activity
    where pid <> pg_backend_pid() and backend_xid is not null and query ilike 'insert into "totp_tokens"%'`)) as { rows: Array<{ n: number }> };
  return rows[0]?.n ?? 0;
}

/**
 * Code viewers with serials of their own: thousands drawn at random share one now and then, and a
 * file with a serial twice is refused whole, as it should be, which is not the fault under test.
 */
let nextSerial = randomInt(100_000_000_000, 800_000_000_000);
const newCodeViewer = () => makeCodeViewer(`5${nextSerial++}`);

/** A vendor's CSV file of code viewers (serial, hex seed, SHA1, 6 digits, 30 s). */
const csvOf = (viewers: CodeViewer[]) => `serial,secret,algorithm,digits,period\n${viewers.map((v) => `${v.serial},${Buffer.from(v.secret).toString('hex')},SHA1,6,30`).join('\n')}\n`;

/** What one kind of write did while Postgres restarted: how many succeeded, failed cleanly, or failed otherwise. */
interface WriteLog {
  ok: number;
  unavailable: number;
  bad: string[];
}

/**
 * Issue 10's fault battery: Postgres (users, clients, keys, tokens, audit) is stopped and started
 * again while employees log in, IT imports and assigns code viewers, and desktop clients
 * register. What is in flight fails cleanly, readiness follows Postgres, logins work again soon
 * after, and every write is whole or absent.
 */
describe('fault battery: Postgres restarts while logins and writes run', function () {
  this.timeout(240_000);
  let bed: FaultBed;
  let dir: string;
  const employees = ['emil', 'frida', 'gorm', 'hanne'];

  before(async function () {
    requireFaultServices(this);
    bed = await startFaultBed();
    for (const username of employees) await bed.addEmployee(username);
    dir = await mkdtemp(join(tmpdir(), 'stepup-faults-'));
  });
  after(async () => {
    await bed?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('fails what is in flight with 503 and Retry-After, follows Postgres in /readyz, logs in again soon after, and leaves no half-written row', async () => {
    const node = bed.nodes[0]!;
    const earlier = await attemptLogin(bed.rp, 'emil');
    expect(earlier.kind, JSON.stringify(earlier)).to.equal('success');

    // Code viewers in stock for the assignments, each for an employee of its own.
    const stock = Array.from({ length: 30 }, newCodeViewer);
    await writeFile(join(dir, 'stock.csv'), csvOf(stock));
    const stocked = await runStepup(['tokens', 'import', join(dir, 'stock.csv')], bed.env);
    expect(stocked.code, stocked.stderr).to.equal(0);
    const holders = [];
    for (let i = 0; i < stock.length; i += 1) holders.push(await bed.addEmployee(`holder${i}`));
    // Pairing codes for desktop clients that register and pair meanwhile.
    const registrants = [];
    for (let i = 0; i < 30; i += 1) {
      const user = await bed.addEmployee(`pc${i}`);
      registrants.push(await pairingCodeFor(bed, user, 'desktop'));
    }
    const before = await rowCounts(bed.storage.db);

    let running = true;
    const cli = (result: { code: number | null; stderr: string }, log: WriteLog) => {
      if (result.code === 0) log.ok += 1;
      // One line naming the outage, no stack trace.
      else if (/^stepup: cannot reach the database: /.test(result.stderr) && result.stderr.trim().split('\n').length === 1) log.unavailable += 1;
      else log.bad.push(result.stderr);
    };
    // A new file after another, each large enough that its import's transaction takes a while.
    const imports: WriteLog = { ok: 0, unavailable: 0, bad: [] };
    const files: Array<{ path: string; viewers: CodeViewer[] }> = [];
    const importing = (async () => {
      while (running) {
        const file = { path: join(dir, `batch${files.length}.csv`), viewers: Array.from({ length: 5000 }, newCodeViewer) };
        await writeFile(file.path, csvOf(file.viewers));
        files.push(file);
        cli(await runStepup(['tokens', 'import', file.path], bed.env), imports);
      }
    })();
    const assigns: WriteLog = { ok: 0, unavailable: 0, bad: [] };
    const assigned: Array<{ serial: string; userId: string }> = [];
    const assigning = (async () => {
      for (const [i, viewer] of stock.entries()) {
        if (!running) break;
        const holder = holders[i] as { id: string; username: string };
        const result = await runStepup(['tokens', 'assign', viewer.serial, holder.username, '--name', 'Kodeviser', '--code', codeAt(viewer, Math.floor(Date.now() / 30_000))], bed.env);
        cli(result, assigns);
        if (result.code === 0) assigned.push({ serial: viewer.serial, userId: holder.id });
      }
    })();
    const registrations: WriteLog = { ok: 0, unavailable: 0, bad: [] };
    const registering = (async () => {
      for (const pairingCode of registrants) {
        if (!running) break;
        const device = new TestDevice(node.url);
        for (const step of ['register', 'pair'] as const) {
          const response = step === 'register' ? await device.register({ pairingCode, kind: 'desktop' }) : await device.pair(pairingCode);
          if (response.status === 201 || response.status === 200) {
            if (step === 'pair') registrations.ok += 1;
            continue;
          }
          const outcome = await judge(response, response.url);
          if (outcome.kind === 'unavailable') registrations.unavailable += 1;
          else registrations.bad.push(`${step}: ${response.status} ${outcome.detail}`);
          break;
        }
        // A computer registers now and then, not in a burst: a refused registration counts
        // against the address's pairing budget (ten a minute).
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    })();
    const load = keepLoggingIn(bed.rp, employees);
    await waitFor('logins before the fault', 30_000, async () => load.attempts.filter((a) => a.kind === 'success').length >= employees.length);

    // Stop Postgres while an import's transaction has written part of its file.
    await waitFor('an import in the middle of its transaction', 90_000, async () => (await importsWriting(bed.storage.db)) > 0);
    const stopping = Date.now();
    await bed.postgres.stopServer();
    const stoppedMs = Date.now() - stopping;
    const notReadyMs = await untilStatus(`${node.url}/readyz`, 503, 10_000) + stoppedMs;

    // While Postgres is out: a new login is told at the password (the users are there), and the
    // token endpoint answers a refresh (the refresh tokens are there) with its JSON.
    const during = await attemptLogin(bed.rp, 'frida');
    expect(during, JSON.stringify(during)).to.include({ kind: 'unavailable', status: 503 });
    const token = await tokenRequest(bed.rp, { grant_type: 'refresh_token', refresh_token: earlier.refreshToken as string });
    expect(token.status).to.equal(503);
    expect(token.headers.get('retry-after')).to.equal('5');
    expect(await token.json()).to.deep.equal({ error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable. Try again shortly.' });
    await new Promise((resolve) => setTimeout(resolve, 1500));

    await bed.postgres.start();
    const back = Date.now();
    // The load stops here (what is under way finishes), so the times below are the IdP's, not a
    // busy machine's.
    running = false;
    const stopped = load.stop();
    const readyMs = await untilStatus(`${node.url}/readyz`, 200, 10_000);
    await untilLoginWorks(bed.rp, 'emil', 10_000);
    const loginAfterBackMs = Date.now() - back;
    const attempts = await stopped;
    await Promise.all([importing, assigning, registering]);

    console.log(`      Postgres restart: stopped in ${stoppedMs} ms, /readyz 503 ${notReadyMs} ms after the stop began, 200 ${readyMs} ms after Postgres returned; a login worked ${loginAfterBackMs} ms after; the refused login took ${during.ended - during.started} ms`);
    console.log(`      in flight: logins ${JSON.stringify(tally(attempts))}; imports ${JSON.stringify({ ...imports, bad: imports.bad.length })}; assignments ${JSON.stringify({ ...assigns, bad: assigns.bad.length })}; registrations ${JSON.stringify({ ...registrations, bad: registrations.bad.length })}`);
    expect(attempts.filter((a) => a.kind === 'bad'), JSON.stringify(tally(attempts))).to.deep.equal([]);
    expect(attempts.some((a) => a.kind === 'unavailable'), 'some login met the outage').to.equal(true);
    expect([...imports.bad, ...assigns.bad, ...registrations.bad]).to.deep.equal([]);
    expect(notReadyMs).to.be.at.most(2000);
    expect(readyMs).to.be.at.most(5000);
    expect(loginAfterBackMs).to.be.at.most(5000);
    expect(during.ended - during.started).to.be.at.most(3000);

    // No half-written row: each file's code viewers are all in stock or none is, the audit
    // counts exactly those, bindings and pairings are whole, and what was reported done is done.
    const { db } = bed.storage;
    for (const file of files) {
      const present = Number(((await db('totp_tokens').whereIn('serial', file.viewers.map((v) => v.serial)).count({ n: '*' }).first()) as { n: string }).n);
      expect([0, file.viewers.length], file.path).to.include(present);
    }
    const inventory = Number(((await db('totp_tokens').where({ kind: 'code_viewer' }).count({ n: '*' }).first()) as { n: string }).n);
    const audited = (await db('audit_events').where({ type: 'code_viewer.imported' }).select('details')) as Array<{ details: { count: number } }>;
    expect(audited.reduce((sum, event) => sum + event.details.count, 0)).to.equal(inventory);
    expect(await halfWrittenRows(db)).to.deep.equal([]);
    for (const { serial, userId } of assigned) expect(await db('totp_tokens').where({ serial }).first()).to.include({ status: 'assigned', user_id: userId });

    // Nothing durable was lost, and a refresh token from before (Postgres, its session in Redis) works.
    const after = await rowCounts(db);
    expect(after.users).to.equal(before.users);
    expect(after.clients).to.equal(before.clients);
    expect(after.signingKeys).to.equal(before.signingKeys);
    const refreshed = await tokenRequest(bed.rp, { grant_type: 'refresh_token', refresh_token: earlier.refreshToken as string });
    expect(refreshed.status, await refreshed.clone().text()).to.equal(200);

    // Each refused request was logged once, with its request id; no line per failed connection
    // attempt besides (those are the request's), and nothing at error level.
    const logged = outageLog(node.output());
    expect(logged.errors, logged.errors.join('\n')).to.deep.equal([]);
    expect(logged.outages.length).to.be.at.least(attempts.filter((a) => a.kind === 'unavailable').length + 2);
    expect(new Set(logged.outages.map((line) => line.requestId)).size).to.equal(logged.outages.length);
    expect(node.output()).to.not.include('Acquire connection error');
  });
});
