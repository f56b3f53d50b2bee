/**
 * The measurements of `npm run bench`, one function each. Each returns raw numbers; run.ts
 * turns them into ratios and goals.
 */
import type * as client from 'openid-client';

import type { Argon2Params } from '../src/config/index.ts';
import { hashPassword, verifyPassword } from '../src/auth/password-hash.ts';
import { readForm, Browser } from '../test/helpers/browser.ts';
import { readEvents, type TestDevice } from '../test/devices/device-client.ts';
import { DESKTOP_PIN } from '../test/devices/reference-client.ts';
import { eventsUrl, toWaitingPage } from '../test/devices/waiting-page.ts';
import type { Backing } from './ours.ts';
import { codeLogin, passwordLogin, passwordLoginToCallback, runConcurrently, type BoundViewer, type Credentials } from './flows.ts';
import { clientCredentialsLoad, refreshLoad, type Throughput } from './load.ts';
import { cpuMs, privateRssBytes, rssBytes, threadCpuMs } from './proc.ts';

/** CPU of one argon2id verification at `params`, in this process (idle otherwise): the yardstick of a login's CPU. */
export async function hashCpuMs(params: Argon2Params, count = 30): Promise<number> {
  const hash = await hashPassword('Et-godt-kodeord-2026', params);
  await verifyPassword(hash, 'Et-godt-kodeord-2026');
  const before = process.cpuUsage();
  for (let i = 0; i < count; i += 1) await verifyPassword(hash, 'Et-godt-kodeord-2026');
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / count;
}

/** Server CPU per login: `total` logins by `login`, `concurrency` browsers at a time, against the process's own CPU time. */
export async function serverCpuPerLogin(pid: number, options: { total: number; concurrency: number }, login: (index: number) => Promise<unknown>): Promise<{ logins: number; cpuMs: number; perLoginMs: number; perLoginByThreadMs: Record<string, number>; seconds: number }> {
  // A few first logins warm the server (JIT, pools) and are not counted.
  await runConcurrently(options.concurrency, options.concurrency, login);
  const cpuBefore = cpuMs(pid);
  const threadsBefore = threadCpuMs(pid);
  const started = performance.now();
  await runConcurrently(options.total, options.concurrency, login);
  const cpu = cpuMs(pid) - cpuBefore;
  const perLoginByThreadMs = Object.fromEntries(Object.entries(threadCpuMs(pid)).map(([name, ms]) => [name, (ms - (threadsBefore[name] ?? 0)) / options.total]));
  return { logins: options.total, cpuMs: cpu, perLoginMs: cpu / options.total, perLoginByThreadMs, seconds: (performance.now() - started) / 1000 };
}

/** Password logins of `users`, round robin. */
export function passwordLogins(config: client.Configuration, users: Credentials[]) {
  return (index: number) => passwordLogin(config, users[index % users.length] as Credentials);
}

/** Substantial logins with a code viewer: each login takes the next user and their viewer's next step. */
export function codeLogins(config: client.Configuration, users: Array<Credentials & { viewer: BoundViewer }>) {
  return (index: number) => {
    const user = users[index % users.length] as Credentials & { viewer: BoundViewer };
    return codeLogin(config, user, user.viewer);
  };
}

/** One server's side in an A B A B comparison: what it is called, and one load run against it. */
export interface Contender {
  name: string;
  run(): Promise<Throughput>;
}

/** Runs `ours` and `bare` alternately, `rounds` times each, so a drift in the machine's load hits both alike. */
export async function alternate(ours: Contender, bare: Contender, rounds: number): Promise<{ ours: Throughput[]; bare: Throughput[] }> {
  const runs = { ours: [] as Throughput[], bare: [] as Throughput[] };
  // One short run each first: JIT, connection pools, the clients' caches.
  await ours.run();
  await bare.run();
  for (let round = 0; round < rounds; round += 1) {
    runs.ours.push(await ours.run());
    runs.bare.push(await bare.run());
  }
  return runs;
}

/** client_credentials at one server (process `pid`), for {@link alternate}. */
export function clientCredentialsContender(name: string, server: { url: string; pid: number }, options: { seconds: number; connections: number }): Contender {
  return { name, run: () => withServerCpu(server.pid, options.seconds, () => clientCredentialsLoad(server.url, options)) };
}

/** Rotating refresh chains at one server (process `pid`), for {@link alternate}; `chains` holds each chain's latest token. */
export function refreshContender(name: string, server: { url: string; pid: number }, chains: string[], options: { seconds: number }): Contender {
  return { name, run: () => withServerCpu(server.pid, options.seconds, () => refreshLoad(server.url, chains, options)) };
}

/** A load run with the server's CPU per successful grant beside its rate. */
async function withServerCpu(pid: number, seconds: number, run: () => Promise<Throughput>): Promise<Throughput> {
  const before = cpuMs(pid);
  const result = await run();
  return { ...result, cpuMsPerGrant: (cpuMs(pid) - before) / (result.perSecond * seconds) };
}

/** Percentiles of a sample, by nearest rank. */
export function percentile(sample: number[], p: number): number {
  const sorted = [...sample].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/**
 * Device approval across two nodes: the browser waits on node A (its waiting page's event
 * stream), the device approves on node B. Times each from the moment the approve request is sent
 * to the moment the browser's stream says `settled`; the approve response's own time (which
 * includes the argon2id check of the PIN) is kept beside it.
 */
export async function deviceApprovals(config: client.Configuration, device: TestDevice, username: string, count: number): Promise<{ settledMs: number[]; approveResponseMs: number[] }> {
  const settledMs: number[] = [];
  const approveResponseMs: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const browser = new Browser();
    const { page } = await toWaitingPage(config, browser, username);
    const challengeId = readForm(page.html, page.url).fields.challenge as string;
    const waiting = await browser.fetch(eventsUrl(page), { headers: { accept: 'text/event-stream' } });
    const started = performance.now();
    const heard = readEvents(waiting, (text) => text.includes('event: settled')).then((events) => {
      if (!events.text.includes('event: settled')) throw new Error(`no settled event: ${events.text}`);
      return performance.now() - started;
    });
    const approved = await device.signed(`challenges/${challengeId}/approve`, { method: 'POST', body: JSON.stringify({ pin: DESKTOP_PIN }) });
    approveResponseMs.push(performance.now() - started);
    if (approved.status !== 200) throw new Error(`approve answered ${approved.status}: ${await approved.text()}`);
    settledMs.push(await heard);
    await waiting.body?.cancel();
  }
  return { settledMs, approveResponseMs };
}

/** A node's memory: at rest, after `sessions` SSO sessions (password logins in new browsers), and Redis bytes per SSO session. */
export async function sessionMemory(pid: number, backing: Backing, config: client.Configuration, users: Credentials[], sessions: number) {
  const restRssBytes = rssBytes(pid);
  const restPrivateBytes = privateRssBytes(pid);
  const redisBefore = await usedMemory(backing);
  await runConcurrently(sessions, 16, (index) => passwordLoginToCallback(config, users[index % users.length] as Credentials));
  const loadedRssBytes = rssBytes(pid);
  const loadedPrivateBytes = privateRssBytes(pid);
  const redisBytesPerLogin = ((await usedMemory(backing)) - redisBefore) / sessions;
  const sample = await sampleKeys(backing, 'stepup:sso:session:*', 200);
  const sizes = await Promise.all(sample.map(async (key) => Number(await backing.redis.memory('USAGE', key))));
  return { restRssBytes, restPrivateBytes, loadedRssBytes, loadedPrivateBytes, sessions, redisBytesPerSession: sizes.reduce((a, b) => a + b, 0) / sizes.length, redisBytesPerLogin, sampled: sizes.length };
}

async function usedMemory(backing: Backing): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await backing.redis.info('memory'))?.[1]);
}

async function sampleKeys(backing: Backing, pattern: string, count: number): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await backing.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0' && keys.length < count);
  return keys.slice(0, count);
}
