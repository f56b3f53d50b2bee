import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

const BIN = new URL('../../bin/stepup.js', import.meta.url).pathname;

describe('stepup in embedded mode (PGlite)', function () {
  this.timeout(60_000);

  it('exits after a command that fails before it touches the database', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stepup-cli-embedded-'));
    for (const args of [['migrate'], ['tokens', 'reset', '12'], ['client', 'add', 'x', '--redirect-uri', 'bad']]) {
      const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir }, stdio: 'ignore' });
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const [code, signal] = await once(child, 'exit');
      clearTimeout(killer);
      expect({ args, signal }).to.deep.equal({ args, signal: null });
      expect(code, args.join(' ')).to.equal(args[0] === 'migrate' ? 0 : 1);
    }
  });
});
