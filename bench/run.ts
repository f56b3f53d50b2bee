/**
 * `npm run bench` (issue 10): ours against bare oidc-provider and against argon2id, side by
 * side in one run on this machine; prints a table and writes bench/results/<timestamp>.json.
 *
 * Options: --only login,client_credentials,refresh,code,device,memory (default all);
 * --sessions N (SSO sessions for the memory row, default 10000); --seconds S and --rounds R
 * (each grant load run, default 5 s, 3 rounds); --log-level warn|info (our nodes', default
 * warn); --profile (our main node runs under `node --cpu-prof`; its top frames are printed).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import type * as client from 'openid-client';

import { configWith } from '../src/config/index.ts';
import { TEST_SECRET_KEY, addUser } from '../test/helpers/idp.ts';
import { makeCodeViewer, codeAt, factorsOn } from '../test/helpers/totp.ts';
import { pairingCodeFor, TestDevice } from '../test/devices/device-client.ts';
import { PASSWORD as DEVICE_PASSWORD } from '../test/devices/waiting-page.ts';
import { discover, registerClient } from '../test/oidc/login-flow.ts';
import type { ServerProcess } from '../test/server/spawn.ts';
import { startBare, type BareProvider } from './bare.ts';
import { BENCH_CLIENT_ID } from './client.ts';
import type { Throughput } from './load.ts';
import { bareLogin, passwordLogin, runConcurrently, type BoundViewer, type Credentials } from './flows.ts';
import { createBacking, startNode, type Backing } from './ours.ts';
import { monotonicMicros, summarizeProfileDir, type ProfileSummary, type Window } from './profile.ts';
import { describeMachine, loadAverage, rssBytes } from './proc.ts';
import {
  alternate, clientCredentialsContender, codeLogins, deviceApprovals, hashCpuMs, passwordLogins, percentile, refreshContender, serverCpuPerLogin, sessionMemory,
} from './rows.ts';

const ROWS = ['login', 'client_credentials', 'refresh', 'code', 'device', 'memory'] as const;
type RowId = (typeof ROWS)[number];

/** One line of the table and the JSON: what was measured, the raw figures, and the goal's verdict. */
interface Row {
  id: RowId;
  what: string;
  ours: string;
  against: string;
  ratio: string;
  goal: string;
  pass: boolean | null;
  raw: Record<string, unknown>;
}

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    sessions: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    'log-level': { type: 'string', default: 'warn' },
    profile: { type: 'boolean', default: false },
  },
});
const only = new Set((args.only?.split(',') ?? ROWS) as RowId[]);
const seconds = Number(args.seconds);
const rounds = Number(args.rounds);
const logLevel = args['log-level'] === 'info' ? 'info' : 'warn';
const PASSWORD = 'Mandag-klokken-8-2026';
const LOGIN_CONCURRENCY = 8;
/** The device approval's goal (issue 10): absolute, as the wait an employee notices is. */
const DEVICE_APPROVAL_P99_GOAL_MS = 20;
/** The memory goals (issue 10): a node's RSS at rest, and Redis bytes per SSO session. */
const MEMORY_GOAL = { restMb: 150, sessionBytes: 1024 };

const machine = describeMachine();
const argon2 = configWith({ secretKey: TEST_SECRET_KEY }).argon2;
console.log(`stepup-idp bench: ${machine.nproc} × ${machine.cpuModel}, Node ${machine.node}, load ${machine.loadAtStart}`);

const backing = await createBacking();
const profileDir = args.profile ? mkdtempSync(join(tmpdir(), 'stepup-bench-profile-')) : undefined;
const nodeA = await startNode(backing, { logLevel, ...(profileDir ? { cpuProfileDir: profileDir } : {}) });
const pidA = nodeA.child.pid as number;
const bare = await startBare();
const rows: Row[] = [];
/** When each row ran: the profile counts only these stretches. */
const windows: Window[] = [];
let profile: ProfileSummary | undefined;
const timed = async (row: () => Promise<Row>) => {
  const start = monotonicMicros();
  rows.push(await row());
  windows.push({ start, end: monotonicMicros() });
};
try {
  await registerClient(backing, BENCH_CLIENT_ID);
  const ours = await discover(nodeA.url, BENCH_CLIENT_ID);
  const bareConfig = await discover(bare.url, BENCH_CLIENT_ID);
  const users = await addUsers(backing, 'ansat', LOGIN_CONCURRENCY * 2);

  if (only.has('login')) await timed(() => passwordLoginRow(pidA, ours, users));
  if (only.has('client_credentials')) await timed(() => clientCredentialsRow(nodeA, bare));
  if (only.has('refresh')) await timed(() => refreshRow(nodeA, ours, bare, bareConfig, users));
  if (only.has('code')) await timed(() => codeLoginRow(pidA, ours, backing));
  if (only.has('device')) await timed(() => deviceRow(backing, nodeA, ours));
  if (only.has('memory')) await timed(() => memoryRow(backing, users, Number(args.sessions)));
} finally {
  await nodeA.stop();
  await bare.stop();
  await backing.drop();
}
if (profileDir) profile = summarizeProfileDir(profileDir, windows);
machine.loadAtEnd = loadAverage();

printTable(rows);
if (profile) printProfile(profile);
const file = writeResults({ machine, options: args, rows, ...(profile ? { profile } : {}) });
console.log(`\nload average ${machine.loadAtStart} at the start, ${machine.loadAtEnd} at the end; results in ${file}`);

/** Employees with a password, added as `stepup user add` adds them (argon2id at the configured parameters). */
async function addUsers(backing: Backing, prefix: string, count: number, password = PASSWORD): Promise<Credentials[]> {
  return Promise.all(Array.from({ length: count }, async (_, i) => {
    const username = `${prefix}${i}`;
    await addUser(backing, { username, password });
    return { username, password };
  }));
}

async function passwordLoginRow(pid: number, config: client.Configuration, users: Credentials[]): Promise<Row> {
  const hashMs = await hashCpuMs(argon2);
  const logins = await serverCpuPerLogin(pid, { total: 200, concurrency: LOGIN_CONCURRENCY }, passwordLogins(config, users));
  const efficiency = hashMs / logins.perLoginMs;
  return {
    id: 'login',
    what: `password login (code + PKCE, form, token; ${LOGIN_CONCURRENCY} browsers)`,
    ours: `${logins.perLoginMs.toFixed(1)} ms CPU/login (${threadShares(logins.perLoginByThreadMs)})`,
    against: `${hashMs.toFixed(1)} ms/hash`,
    ratio: efficiency.toFixed(2),
    goal: 'hash/login ≥ 0.5',
    pass: efficiency >= 0.5,
    raw: { hashCpuMs: hashMs, ...logins, loginsPerSecond: logins.logins / logins.seconds },
  };
}

/** A login's CPU by thread: the event loop, libuv's pool (argon2 runs there), V8's helpers. */
function threadShares(byThread: Record<string, number>): string {
  const names: Array<[string, string]> = [['MainThread', 'event loop'], ['libuv-worker', 'pool'], ['V8Worker', 'V8 helpers']];
  return names.map(([thread, label]) => `${label} ${(byThread[thread] ?? 0).toFixed(1)}`).join(', ');
}

async function clientCredentialsRow(node: ServerProcess, bare: BareProvider): Promise<Row> {
  const load = { seconds, connections: 16 };
  const runs = await alternate(clientCredentialsContender('ours', serverOf(node), load), clientCredentialsContender('bare', bare, load), rounds);
  return grantRow('client_credentials', 'client_credentials grants/s (autocannon, 16 connections, A B A B)', runs);
}

async function refreshRow(node: ServerProcess, ours: client.Configuration, bare: BareProvider, bareConfig: client.Configuration, users: Credentials[]): Promise<Row> {
  const chainCount = 16;
  const oursChains = await tokensOf(chainCount, (i) => passwordLogin(ours, users[i % users.length] as Credentials));
  const bareChains = await tokensOf(chainCount, () => bareLogin(bareConfig));
  const runs = await alternate(refreshContender('ours', serverOf(node), oursChains, { seconds }), refreshContender('bare', bare, bareChains, { seconds }), rounds);
  return grantRow('refresh', `refresh grants/s (rotating; ${chainCount} chains, A B A B)`, runs);
}

function serverOf(node: ServerProcess) {
  return { url: node.url, pid: node.child.pid as number };
}

async function tokensOf(count: number, login: (index: number) => Promise<client.TokenEndpointResponse>): Promise<string[]> {
  const tokens: string[] = [];
  await runConcurrently(count, 4, async (i) => {
    const response = await login(i);
    if (!response.refresh_token) throw new Error('the login gave no refresh token');
    tokens.push(response.refresh_token);
  });
  return tokens;
}

function grantRow(id: RowId, what: string, runs: Awaited<ReturnType<typeof alternate>>): Row {
  const mean = (list: Throughput[], of: (run: Throughput) => number = (run) => run.perSecond) => list.reduce((sum, run) => sum + of(run), 0) / list.length;
  const cpu = (list: Throughput[]) => mean(list, (run) => run.cpuMsPerGrant ?? NaN);
  const ratio = mean(runs.ours) / mean(runs.bare);
  const failures = [...runs.ours, ...runs.bare].reduce((sum, run) => sum + run.failures, 0);
  return {
    id,
    what,
    ours: `${Math.round(mean(runs.ours))}/s (${cpu(runs.ours).toFixed(2)} ms CPU each)`,
    against: `${Math.round(mean(runs.bare))}/s bare (${cpu(runs.bare).toFixed(2)} ms)`,
    ratio: ratio.toFixed(2),
    goal: '≥ 0.8× bare',
    pass: ratio >= 0.8 && failures === 0,
    raw: { ours: runs.ours, bare: runs.bare, failures, cpuRatio: cpu(runs.bare) / cpu(runs.ours) },
  };
}

async function codeLoginRow(pid: number, config: client.Configuration, backing: Backing): Promise<Row> {
  const users = await Promise.all((await addUsers(backing, 'kodeviser', LOGIN_CONCURRENCY * 2)).map(async (user) => ({ ...user, viewer: await bindCodeViewer(backing, user.username) })));
  const hashMs = await hashCpuMs(argon2);
  const logins = await serverCpuPerLogin(pid, { total: 64, concurrency: LOGIN_CONCURRENCY }, codeLogins(config, users));
  return {
    id: 'code',
    what: `step-up with a code viewer (Substantial; ${LOGIN_CONCURRENCY} browsers)`,
    ours: `${logins.perLoginMs.toFixed(1)} ms CPU/login (${threadShares(logins.perLoginByThreadMs)})`,
    against: `${hashMs.toFixed(1)} ms/hash`,
    ratio: (hashMs / logins.perLoginMs).toFixed(2),
    goal: 'report',
    pass: null,
    raw: { hashCpuMs: hashMs, ...logins },
  };
}

/** A code viewer from stock bound to the employee with its current code, as self-service binds one. */
async function bindCodeViewer(backing: Backing, username: string): Promise<BoundViewer> {
  const token = makeCodeViewer();
  const user = await backing.storage.users.findByUsername(username);
  if (!user) throw new Error(`no user ${username}`);
  await backing.storage.db.transaction((trx) => backing.storage.totpTokens.addToStock([token], trx));
  const step = Math.floor(Date.now() / 30_000);
  const bound = await factorsOn(backing.storage, Date.now).bindCodeViewer({ userId: user.id, serial: token.serial, name: 'Kodeviser', code: codeAt(token, step), context: { actor: 'bench' } });
  if (!bound.ok) throw new Error(`binding a code viewer failed: ${bound.reason}`);
  return { token, lastStep: step };
}

async function deviceRow(backing: Backing, nodeA: ServerProcess, ours: client.Configuration): Promise<Row> {
  const nodeB = await startNode(backing, { issuer: nodeA.url, logLevel });
  try {
    const user = await addUser(backing, { username: 'skrivebord', password: DEVICE_PASSWORD });
    const device = new TestDevice(nodeB.url);
    const pairingCode = await pairingCodeFor(backing, user, 'desktop');
    if ((await device.register({ pairingCode, kind: 'desktop' })).status !== 201 || (await device.pair(pairingCode)).status !== 200) throw new Error('the bench device could not register');
    await deviceApprovals(ours, device, user.username, 5);
    const { settledMs, approveResponseMs } = await deviceApprovals(ours, device, user.username, 200);
    const p50 = percentile(settledMs, 50);
    const p99 = percentile(settledMs, 99);
    // What the node-to-node path adds after the approving node has answered (negative: the
    // browser heard first).
    const deliveryMs = settledMs.map((ms, i) => ms - (approveResponseMs[i] as number));
    return {
      id: 'device',
      what: 'device approval: approve on node B → settled on node A',
      ours: `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`,
      against: `approve answered p50 ${percentile(approveResponseMs, 50).toFixed(1)} ms (argon2id PIN check in it); settled − answered p99 ${percentile(deliveryMs, 99).toFixed(1)} ms`,
      ratio: (p99 / DEVICE_APPROVAL_P99_GOAL_MS).toFixed(2),
      goal: `p99 / ${DEVICE_APPROVAL_P99_GOAL_MS} ms ≤ 1`,
      pass: p99 <= DEVICE_APPROVAL_P99_GOAL_MS,
      raw: { p50, p99, settledMs, approveResponseMs, deliveryMs },
    };
  } finally {
    await nodeB.stop();
  }
}

async function memoryRow(backing: Backing, users: Credentials[], sessions: number): Promise<Row> {
  // Bare oidc-provider at rest, for scale: what Node and the engine take before anything of ours.
  const bareAtRest = await startBare();
  const node = await startNode(backing, { logLevel });
  try {
    const config = await discover(node.url, BENCH_CLIENT_ID);
    // At rest: started, ready, a moment to settle.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const bareRestRssBytes = rssBytes(bareAtRest.pid);
    const memory = await sessionMemory(node.child.pid as number, backing, config, users, sessions);
    const mb = (bytes: number) => bytes / 1024 / 1024;
    const restRatio = mb(memory.restRssBytes) / MEMORY_GOAL.restMb;
    const sessionRatio = memory.redisBytesPerSession / MEMORY_GOAL.sessionBytes;
    return {
      id: 'memory',
      what: `memory: one node at rest, after ${sessions} SSO sessions; Redis per SSO session`,
      ours: `RSS ${mb(memory.restRssBytes).toFixed(0)} MB → ${mb(memory.loadedRssBytes).toFixed(0)} MB; ${Math.round(memory.redisBytesPerSession)} B/session`,
      against: `bare oidc-provider at rest ${mb(bareRestRssBytes).toFixed(0)} MB; own (RssAnon) ${mb(memory.restPrivateBytes).toFixed(0)} → ${mb(memory.loadedPrivateBytes).toFixed(0)} MB; Redis ${Math.round(memory.redisBytesPerLogin)} B/login in all`,
      ratio: `${restRatio.toFixed(2)}; ${sessionRatio.toFixed(2)}`,
      goal: `≤ 1 of ${MEMORY_GOAL.restMb} MB at rest; of ${MEMORY_GOAL.sessionBytes} B/session`,
      pass: restRatio <= 1 && sessionRatio <= 1,
      raw: { ...memory, bareRestRssBytes },
    };
  } finally {
    await bareAtRest.stop();
    await node.stop();
  }
}

function printTable(list: Row[]) {
  const header = ['what', 'ours', 'against', 'ratio', 'goal', 'met'];
  const lines = list.map((row) => [row.what, row.ours, row.against, row.ratio, row.goal, row.pass === null ? '-' : row.pass ? 'yes' : 'NO']);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => (line[i] as string).length)));
  const format = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] as number)).join(' | ')} |`;
  console.log(`\n${format(header)}\n${format(widths.map((w) => '-'.repeat(w)))}`);
  for (const line of lines) console.log(format(line));
}

function printProfile(summary: ProfileSummary) {
  console.log(`\nour node's CPU profile: ${summary.totalMs} ms sampled, ${summary.idleMs} ms of it idle; self time of the busy rest by module:`);
  for (const frame of summary.byModule) console.log(`  ${String(frame.percent).padStart(5)} %  ${frame.name}`);
  console.log('by function:');
  for (const frame of summary.byFunction) console.log(`  ${String(frame.percent).padStart(5)} %  ${frame.name}`);
}

function writeResults(results: Record<string, unknown>): string {
  const dir = new URL('./results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}
