import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { runStepup } from '../cli/run.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { startServer, type ServerProcess } from '../server/spawn.ts';

const PASSWORD = 'correct horse battery staple';

/** Logs in at the demo relying party and returns the page it ends on. */
async function demoLogin(server: ServerProcess, username: string, password: string): Promise<string> {
  const browser = new Browser();
  const { response, url } = await browser.follow(`${server.url}/demo/login`);
  const form = readForm(await response.text(), url);
  const { response: page } = await browser.submit(form.action, { ...form.fields, username, password });
  return page.text();
}

/** Where an authorization request for `clientId` leads: a login page (303) or an error (400). */
async function authorize(server: ServerProcess, clientId: string): Promise<number> {
  const query = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: 'https://rp.example/cb',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  });
  return (await fetch(`${server.url}/auth?${query}`, { redirect: 'manual' })).status;
}

async function kids(server: ServerProcess): Promise<string[]> {
  const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: Array<{ kid: string }> };
  return jwks.keys.map((key) => key.kid).sort();
}

/** Every path under `dir` with its permission bits. */
function modes(dir: string): Array<[string, string]> {
  const found: Array<[string, string]> = [[dir, (lstatSync(dir).mode & 0o777).toString(8)]];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...modes(path));
    else found.push([path, (lstatSync(path).mode & 0o777).toString(8)]);
  }
  return found;
}

describe('embedded server and stepup on one DATA_DIR', function () {
  this.timeout(120_000);
  let dataDir: string;
  let env: Record<string, string>;
  let server: ServerProcess | undefined;
  const stepup = (args: string[], stdin?: string) => runStepup(args, { env, stdin });

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'stepup-embedded-'));
    env = { PATH: process.env.PATH ?? '', DATA_DIR: dataDir };
  });

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('takes `stepup user add` and `client add` from a second process at once, and keeps them after a restart', async () => {
    server = await startServer({ DATA_DIR: dataDir });
    await server.ready();
    expect(await authorize(server, 'rp1')).to.equal(400);

    const added = await stepup(['user', 'add', 'alice', '--password-stdin'], `${PASSWORD}\n`);
    expect(added.code, added.stderr).to.equal(0);
    const client = await stepup(['client', 'add', 'rp1', '--redirect-uri', 'https://rp.example/cb', '--public']);
    expect(client.code, client.stderr).to.equal(0);

    // The running server sees both without a restart.
    expect(await authorize(server, 'rp1')).to.equal(303);
    expect(await demoLogin(server, 'alice', PASSWORD)).to.include('<dt>preferred_username</dt><dd>alice</dd>');

    expect((await server.stop()).code).to.equal(0);
    server = await startServer({ DATA_DIR: dataDir });
    await server.ready();
    expect(await authorize(server, 'rp1')).to.equal(303);
    const users = await stepup(['--json', 'user', 'list']);
    expect(users.code, users.stderr).to.equal(0);
    expect(users.stdout).to.include('"alice"');
  });

  it('tells the running server of `stepup user unlock`: an automatic lock in its memory is lifted at once', async () => {
    server = await startServer({ DATA_DIR: dataDir, LOCKOUT_MAX_FAILURES: '2' });
    await server.ready();
    expect((await stepup(['user', 'add', 'alice', '--password-stdin'], `${PASSWORD}\n`)).code).to.equal(0);
    for (let i = 0; i < 2; i += 1) expect(await demoLogin(server, 'alice', 'wrong password')).to.not.include('preferred_username');
    // Locked now: the right password is refused too.
    expect(await demoLogin(server, 'alice', PASSWORD)).to.not.include('preferred_username');
    const unlocked = await stepup(['user', 'unlock', 'alice']);
    expect(unlocked.code, unlocked.stderr).to.equal(0);
    expect(unlocked.stdout).to.include('The running server was told to lift any automatic lock.');
    let page = '';
    for (let i = 0; i < 20 && !page.includes('preferred_username'); i += 1) {
      if (i) await new Promise((resolve) => setTimeout(resolve, 100));
      page = await demoLogin(server, 'alice', PASSWORD);
    }
    expect(page).to.include('<dt>preferred_username</dt><dd>alice</dd>');
  });

  it('lets one server open a DATA_DIR: a second refuses with one line naming the first', async () => {
    server = await startServer({ DATA_DIR: dataDir });
    await server.ready();
    const second = await startServer({ DATA_DIR: dataDir });
    expect(await second.exited).to.equal(1);
    const lines = second.output().trim().split('\n');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(new RegExp(`^stepup-idp: .* is in use by the stepup-idp server \\(pid ${server.child.pid}, since `));
    // The first one still serves.
    expect((await fetch(`${server.url}/readyz`)).status).to.equal(200);
  });

  it('takes over a lock left by a process that died', async () => {
    const dead = spawn(process.execPath, ['-e', '']);
    await once(dead, 'exit');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'server.pid'), JSON.stringify({ pid: dead.pid, role: 'server', socket: join(dataDir, '.s.PGSQL.5432'), startedAt: '2026-01-01T00:00:00.000Z' }));
    server = await startServer({ DATA_DIR: dataDir });
    await server.ready();
    expect(JSON.parse(readFileSync(join(dataDir, 'server.pid'), 'utf8'))).to.include({ pid: server.child.pid, role: 'server' });
    const list = await stepup(['client', 'list']);
    expect(list.code, list.stderr).to.equal(0);
  });

  it('tells the running server of `stepup keys rotate`: its /jwks changes without a restart', async () => {
    server = await startServer({ DATA_DIR: dataDir });
    await server.ready();
    const before = await kids(server);
    const rotated = await stepup(['keys', 'rotate']);
    expect(rotated.code, rotated.stderr).to.equal(0);
    expect(rotated.stdout).to.include('The running server was told to reload its keys.');
    let after = before;
    for (let i = 0; i < 50 && after.join() === before.join(); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await kids(server);
    }
    expect(after).to.not.deep.equal(before);
    expect(after).to.include.members(before);
  });

  it('keeps DATA_DIR and everything in it to the owner, also when the directory existed before', async () => {
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'secret-key'), 'a-secret-key-made-by-hand-0123456789abcdef\n', { mode: 0o644 });
    server = await startServer({ DATA_DIR: dataDir });
    await server.ready();
    const loose = modes(dataDir).filter(([path, mode]) => mode !== (lstatSync(path).isDirectory() ? '700' : '600'));
    expect(loose).to.deep.equal([]);
    expect(readdirSync(dataDir)).to.include.members(['server.pid', '.s.PGSQL.5432', 'secret-key', 'pg']);
  });

  it('seeds the demo relying party when users were added before the first start', async () => {
    expect((await stepup(['migrate'])).code).to.equal(0);
    const added = await stepup(['user', 'add', 'bob', '--password-stdin'], `${PASSWORD}\n`);
    expect(added.code, added.stderr).to.equal(0);
    server = await startServer({ DATA_DIR: dataDir });
    await server.ready();
    expect(server.output()).to.match(/Demo user created: username "demo"/);
    // /demo reaches the login page instead of ending in invalid_client.
    expect(await demoLogin(server, 'bob', PASSWORD)).to.include('<dt>preferred_username</dt><dd>bob</dd>');
  });
});
