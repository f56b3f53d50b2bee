import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { DataDirBusyError, judgeLock, LOCK_FILE, lockDataDir, type LockHolder } from './data-dir-lock.ts';

const holder = (pid: number): LockHolder => ({ pid, role: 'server', socket: '/x/.s.PGSQL.5432', startedAt: '2026-01-01T00:00:00.000Z' });

describe('DATA_DIR lock', () => {
  it('judges a lock held while its process lives, stale when it died or carries our own pid', () => {
    expect(judgeLock({ holder: holder(10), holderAlive: true, ownPid: 20 })).to.deep.equal({ verdict: 'held' });
    expect(judgeLock({ holder: holder(10), holderAlive: false, ownPid: 20 })).to.deep.equal({ verdict: 'stale', reason: 'dead' });
    expect(judgeLock({ holder: holder(20), holderAlive: true, ownPid: 20 })).to.deep.equal({ verdict: 'stale', reason: 'own-pid' });
  });

  it('is exclusive: a second taker is told who holds it, and may take it once released', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stepup-lock-'));
    const first = lockDataDir({ dataDir, role: 'server', socket: '/s', pid: 101, isAlive: () => true });
    expect(statSync(join(dataDir, LOCK_FILE)).mode & 0o777).to.equal(0o600);
    expect(() => lockDataDir({ dataDir, role: 'command', pid: 102, isAlive: () => true }))
      .to.throw(DataDirBusyError, /in use by the stepup-idp server \(pid 101, since /);
    first.release();
    expect(existsSync(join(dataDir, LOCK_FILE))).to.equal(false);
    const second = lockDataDir({ dataDir, role: 'command', pid: 102, isAlive: () => true });
    expect(JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8'))).to.include({ pid: 102, role: 'command' });
    second.release();
  });

  it('takes over a lock left by a process that died', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stepup-lock-'));
    writeFileSync(join(dataDir, LOCK_FILE), JSON.stringify(holder(4_000_000)));
    const lock = lockDataDir({ dataDir, role: 'server', pid: 103, isAlive: (pid) => pid !== 4_000_000 });
    expect(lock.holder.pid).to.equal(103);
    expect(JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8'))).to.include({ pid: 103 });
  });

  it('refuses a file that is not a lock rather than guess', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stepup-lock-'));
    writeFileSync(join(dataDir, LOCK_FILE), 'garbage');
    expect(() => lockDataDir({ dataDir, role: 'server', pid: 104 })).to.throw(/is not a stepup lock file/);
  });

  it('releases only its own lock', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stepup-lock-'));
    const lock = lockDataDir({ dataDir, role: 'server', pid: 105, isAlive: () => false });
    const takeover = lockDataDir({ dataDir, role: 'server', pid: 106, isAlive: () => false });
    lock.release();
    expect(JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8'))).to.include({ pid: 106 });
    takeover.release();
  });
});
