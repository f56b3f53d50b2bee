import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { ConfigError, configWith, loadConfig } from './index.ts';
import { OPTIONS } from './options.ts';

const SECRET = 'x'.repeat(32);

function failure(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('uses the documented defaults, generating SECRET_KEY into DATA_DIR in embedded mode', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stepup-config-'));
    const config = loadConfig({ DATA_DIR: dataDir });
    expect(config.issuer).to.equal('http://localhost:3000');
    expect(config.port).to.equal(3000);
    expect(config.databaseUrl).to.equal(undefined);
    expect(config.argon2).to.deep.equal({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
    expect(config.secretKeyGenerated).to.equal(true);
    expect(readFileSync(join(dataDir, 'secret-key'), 'utf8').trim()).to.equal(config.secretKey);
    expect(statSync(join(dataDir, 'secret-key')).mode & 0o777).to.equal(0o600);
    expect(loadConfig({ DATA_DIR: dataDir }).secretKey).to.equal(config.secretKey);
  });

  it('names the variable that is wrong', () => {
    expect(failure({ PORT: 'eighty' }).variable).to.equal('PORT');
    expect(failure({ ISSUER: 'not a url', SECRET_KEY: SECRET }).variable).to.equal('ISSUER');
    expect(failure({ SECRET_KEY: 'short' }).variable).to.equal('SECRET_KEY');
    expect(failure({ ARGON2_MEMORY_KIB: '4096', SECRET_KEY: SECRET }).message).to.match(/ARGON2_MEMORY_KIB: must be at least 19456/);
    expect(failure({ DATABASE_URL: 'mysql://db/x', SECRET_KEY: SECRET }).variable).to.equal('DATABASE_URL');
    expect(failure({ DATABASE_URL: 'postgres://db/x' }).variable).to.equal('SECRET_KEY');
  });

  it('refuses embedded storage, a generated key and a non-https issuer in production', () => {
    const production = { NODE_ENV: 'production', ISSUER: 'https://login.kommune.dk', DATABASE_URL: 'postgres://db/idp', REDIS_URL: 'redis://cache', SECRET_KEY: SECRET };
    expect(loadConfig(production).production).to.equal(true);
    expect(failure({ ...production, ISSUER: 'http://login.kommune.dk' }).variable).to.equal('ISSUER');
    expect(failure({ ...production, DATABASE_URL: '' }).variable).to.equal('DATABASE_URL');
    expect(failure({ ...production, REDIS_URL: '' }).variable).to.equal('REDIS_URL');
    expect(failure({ ...production, SECRET_KEY: '' }).variable).to.equal('SECRET_KEY');
  });

  it('chooses how a first factor is allowed: the password in embedded mode only, never in production', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stepup-config-'));
    expect(loadConfig({ DATA_DIR: dataDir }).firstFactorEnrolment).to.equal('password');
    expect(loadConfig({ DATABASE_URL: 'postgres://db/idp', SECRET_KEY: SECRET }).firstFactorEnrolment).to.equal('access-pass');
    const production = { NODE_ENV: 'production', ISSUER: 'https://login.kommune.dk', DATABASE_URL: 'postgres://db/idp', REDIS_URL: 'redis://cache', SECRET_KEY: SECRET };
    expect(failure({ ...production, FIRST_FACTOR_ENROLMENT: 'password' }).variable).to.equal('FIRST_FACTOR_ENROLMENT');
    expect(failure({ DATA_DIR: dataDir, FIRST_FACTOR_ENROLMENT: 'identity' }).message).to.equal(
      'IDENTITY_ISSUER: is required with FIRST_FACTOR_ENROLMENT=identity (the upstream identity provider, e.g. a MitID broker)',
    );
    expect(loadConfig({ DATA_DIR: dataDir, SELFSERVICE_STEP_UP_MAX_AGE: '5' }).selfServiceStepUpMaxAge).to.equal(300);
  });

  it('reads the upstream of FIRST_FACTOR_ENROLMENT=identity, naming what is missing or wrong', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stepup-config-'));
    const upstream = {
      DATA_DIR: dataDir,
      FIRST_FACTOR_ENROLMENT: 'identity',
      IDENTITY_ISSUER: 'https://broker.example/op',
      IDENTITY_CLIENT_ID: 'viborg-selvbetjening',
      IDENTITY_CLIENT_SECRET: 'broker-secret',
      IDENTITY_CLAIM: 'https://data.gov.dk/model/core/eid/person/uuid',
      IDENTITY_USER_ATTRIBUTE: 'person-uuid',
    };
    const config = loadConfig(upstream);
    expect(config.firstFactorEnrolment).to.equal('identity');
    expect(config.identity).to.deep.equal({
      issuer: 'https://broker.example/op',
      clientId: 'viborg-selvbetjening',
      clientSecret: 'broker-secret',
      scope: 'openid',
      claim: 'https://data.gov.dk/model/core/eid/person/uuid',
      userAttribute: 'person-uuid',
      acrValues: ['https://data.gov.dk/concept/core/nsis/loa/Substantial', 'https://data.gov.dk/concept/core/nsis/loa/High'],
      holdSeconds: 600,
    });
    expect(loadConfig({ ...upstream, IDENTITY_ACR: ' https://data.gov.dk/concept/core/nsis/loa/High ', IDENTITY_VERIFICATION_SECONDS: '120' }).identity)
      .to.deep.include({ acrValues: ['https://data.gov.dk/concept/core/nsis/loa/High'], holdSeconds: 120 });
    // Set without `identity`, the upstream is not used.
    expect(loadConfig({ ...upstream, FIRST_FACTOR_ENROLMENT: 'access-pass' }).identity).to.equal(undefined);
    for (const name of ['IDENTITY_CLIENT_ID', 'IDENTITY_CLIENT_SECRET', 'IDENTITY_CLAIM', 'IDENTITY_USER_ATTRIBUTE']) {
      expect(failure({ ...upstream, [name]: '' }).message, name).to.equal(`${name}: is required with FIRST_FACTOR_ENROLMENT=identity (the upstream identity provider, e.g. a MitID broker)`);
    }
    expect(failure({ ...upstream, IDENTITY_SCOPE: 'email' }).message).to.equal('IDENTITY_SCOPE: must include openid');
    expect(failure({ ...upstream, IDENTITY_USER_ATTRIBUTE: 'cpr nummer' }).variable).to.equal('IDENTITY_USER_ATTRIBUTE');
    expect(failure({ ...upstream, IDENTITY_ISSUER: 'broker' }).variable).to.equal('IDENTITY_ISSUER');
    expect(failure({ ...upstream, IDENTITY_VERIFICATION_SECONDS: '30' }).variable).to.equal('IDENTITY_VERIFICATION_SECONDS');
    const production = { NODE_ENV: 'production', ISSUER: 'https://login.kommune.dk', DATABASE_URL: 'postgres://db/idp', REDIS_URL: 'redis://cache', SECRET_KEY: SECRET };
    expect(loadConfig({ ...upstream, ...production }).identity?.issuer).to.equal('https://broker.example/op');
    expect(failure({ ...upstream, ...production, IDENTITY_ISSUER: 'http://broker.example/op' }).message).to.equal('IDENTITY_ISSUER: must be an https URL in production');
    // An embedding application's configuration holds the same rule.
    expect(() => configWith({ secretKey: SECRET, firstFactorEnrolment: 'identity' })).to.throw(ConfigError, /^FIRST_FACTOR_ENROLMENT: identity and the upstream identity provider/);
    expect(configWith({ secretKey: SECRET, firstFactorEnrolment: 'identity', identity: config.identity }).identity).to.equal(config.identity);
  });

  it('reads TRUST_PROXY as a hop count or proxy addresses, and refuses "true"', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stepup-config-'));
    const trust = (value?: string) => loadConfig({ DATA_DIR: dataDir, ...(value === undefined ? {} : { TRUST_PROXY: value }) }).trustProxy;
    expect(trust()).to.deep.equal({ hops: 0 });
    expect(trust('false')).to.deep.equal({ hops: 0 });
    expect(trust('1')).to.deep.equal({ hops: 1 });
    expect(trust('10.0.0.5, 10.0.0.6,10.1.0.0/16,fd00::/8')).to.deep.equal({ addresses: ['10.0.0.5', '10.0.0.6', '10.1.0.0/16', 'fd00::/8'] });
    expect(failure({ DATA_DIR: dataDir, TRUST_PROXY: 'true' }).message).to.match(/^TRUST_PROXY: give the number of proxies in front/);
    for (const bad of ['yes', '10.0.0.5,', '10.0.0.0/33', '10.0.0.0/8/1', 'fd00::/129', '-1']) {
      expect(failure({ DATA_DIR: dataDir, TRUST_PROXY: bad }).variable, bad).to.equal('TRUST_PROXY');
    }
  });

  it('chooses the push gateway: webpush when VAPID_SUBJECT is set, which must be a mailto: or https URL', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stepup-config-'));
    const push = (env: Record<string, string>) => loadConfig({ DATA_DIR: dataDir, ...env }).push;
    expect(push({})).to.deep.equal({ gateway: 'log' });
    expect(push({ VAPID_SUBJECT: 'mailto:it-drift@kommune.dk' })).to.deep.equal({ gateway: 'webpush', vapidSubject: 'mailto:it-drift@kommune.dk' });
    expect(push({ PUSH_GATEWAY: 'log', VAPID_SUBJECT: 'https://kommune.dk/it' })).to.deep.equal({ gateway: 'log' });
    expect(failure({ DATA_DIR: dataDir, PUSH_GATEWAY: 'webpush' }).message).to.equal('VAPID_SUBJECT: is required with PUSH_GATEWAY=webpush');
    expect(failure({ DATA_DIR: dataDir, PUSH_GATEWAY: 'apns' }).variable).to.equal('PUSH_GATEWAY');
    for (const subject of ['http://kommune.dk/it', 'https://localhost/contact', 'it-drift@kommune.dk']) {
      expect(failure({ DATA_DIR: dataDir, VAPID_SUBJECT: subject }).variable, subject).to.equal('VAPID_SUBJECT');
    }
  });

  it('reads PUSH_SERVICE_HOSTS as host names, the public push services by default, and refuses anything else', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stepup-config-'));
    const hosts = (value?: string) => loadConfig({ DATA_DIR: dataDir, ...(value === undefined ? {} : { PUSH_SERVICE_HOSTS: value }) }).pushServiceHosts;
    expect(hosts()).to.deep.equal(['fcm.googleapis.com', 'updates.push.services.mozilla.com', 'push.apple.com', 'notify.windows.com', 'push.services.mozilla.com']);
    expect(hosts(' FCM.googleapis.com , .notify.windows.com,push.kommune.dk')).to.deep.equal(['fcm.googleapis.com', 'notify.windows.com', 'push.kommune.dk']);
    for (const bad of ['com', '*', 'https://fcm.googleapis.com', 'fcm.googleapis.com,', 'fcm.googleapis.com:443', '10.0.0.5', 'under_score.example']) {
      expect(failure({ DATA_DIR: dataDir, PUSH_SERVICE_HOSTS: bad }).variable, bad).to.equal('PUSH_SERVICE_HOSTS');
    }
  });

  it('is documented: the README configuration table names exactly these variables', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 5));
    const documented = [...table.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((match) => match[1]);
    expect(documented).to.deep.equal(OPTIONS.map((option) => option.env));
  });
});
