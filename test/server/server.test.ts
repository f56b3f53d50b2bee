import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { Browser, readForm } from '../helpers/browser.ts';

const SERVER = new URL('../../src/server.ts', import.meta.url).pathname;

/** A management port for each server, so servers of one run never share the default 9000. */
const managementPort = () => String(20000 + Math.floor(Math.random() * 20000));

function start(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [SERVER], { env: { PATH: process.env.PATH ?? '', MANAGEMENT_PORT: managementPort(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  return { child, output: () => output };
}

describe('standalone server', function () {
  this.timeout(60_000);

  it('stops with one clear line naming a wrong variable', async () => {
    const { child, output } = start({ PORT: 'eighty', DATA_DIR: mkdtempSync(join(tmpdir(), 'stepup-srv-')) });
    const [code] = await once(child, 'exit');
    expect(code).to.equal(1);
    expect(output().trim()).to.equal('stepup-idp: configuration error: PORT: must be a whole number, got "eighty"');
  });

  it('refuses FIRST_FACTOR_ENROLMENT=identity without an upstream, with one clear line', async () => {
    const { child, output } = start({ FIRST_FACTOR_ENROLMENT: 'identity', DATA_DIR: mkdtempSync(join(tmpdir(), 'stepup-srv-')) });
    const [code] = await once(child, 'exit');
    expect(code).to.equal(1);
    expect(output().trim()).to.equal('stepup-idp: configuration error: IDENTITY_ISSUER: is required with FIRST_FACTOR_ENROLMENT=identity (the upstream identity provider, e.g. a MitID broker)');
  });

  it('stops with one clear line when SECRET_KEY is not the one that sealed the signing keys', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const env = { PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: mkdtempSync(join(tmpdir(), 'stepup-srv-')), LOG_LEVEL: 'warn' };
    const first = start({ ...env, SECRET_KEY: 'a'.repeat(32) + '-the-key-the-signing-keys-were-made-with' });
    for (let i = 0; i < 200; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      if ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok) break;
    }
    first.child.kill('SIGTERM');
    await once(first.child, 'exit');

    const second = start({ ...env, SECRET_KEY: 'b'.repeat(32) + '-another-key-altogether' });
    const [code] = await once(second.child, 'exit');
    expect(code).to.equal(1);
    // The line ends the output; the log lines before it are the start's, and no stack trace follows.
    expect(second.output().trim().split('\n').at(-1)).to.equal('stepup-idp: SECRET_KEY does not open the signing keys in the database: they were sealed with another SECRET_KEY. Start every node with the one they were made with.');
    expect(second.output()).to.not.match(/^\s+at /m);
  }).timeout(120_000);

  it('starts with embedded storage, seeds the demo once, serves discovery and shuts down on SIGTERM', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const dataDir = mkdtempSync(join(tmpdir(), 'stepup-srv-'));
    const management = managementPort();
    const env = { PORT: String(port), ISSUER: `http://127.0.0.1:${port}`, DATA_DIR: dataDir, LOG_LEVEL: 'warn', MANAGEMENT_PORT: management };
    const { child, output } = start(env);
    let ready: Response | undefined;
    for (let i = 0; i < 200 && !ready?.ok; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    }
    expect(ready?.status).to.equal(200);
    expect(output()).to.match(/Demo user created: username "demo", password "[\w-]{12}"/);
    const discovery = (await (await fetch(`http://127.0.0.1:${port}/.well-known/openid-configuration`)).json()) as { issuer: string };
    expect(discovery.issuer).to.equal(`http://127.0.0.1:${port}`);
    // The demo relying party runs a whole code + PKCE login with the printed password.
    const password = /password "([\w-]{12})"/.exec(output())?.[1] as string;
    const browser = new Browser();
    const { response: loginPage, url: loginUrl } = await browser.follow(`http://127.0.0.1:${port}/demo/login`);
    const form = readForm(await loginPage.text(), loginUrl);
    const { response: demoPage } = await browser.submit(form.action, { ...form.fields, username: 'demo', password });
    const html = await demoPage.text();
    expect(html).to.include('<dt>preferred_username</dt><dd>demo</dd>');
    expect(html).to.include('<dt>amr</dt><dd>[&quot;pwd&quot;]</dd>');
    // The management listener counted it; the public port has no /metrics.
    const scraped = await (await fetch(`http://127.0.0.1:${management}/metrics`)).text();
    expect(scraped).to.include('stepup_logins_total{outcome="success",level="low"} 1');
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).to.equal(404);

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).to.equal(0);

    const again = start(env);
    for (let i = 0; i < 200; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      if ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok) break;
    }
    again.child.kill('SIGTERM');
    await once(again.child, 'exit');
    expect(again.output()).to.not.include('Demo user created');
  });
});
