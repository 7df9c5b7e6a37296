import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, lockDataDir } from './data-dir-lock.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-lock-'));
  dirs.push(d);
  return d;
}

describe('one ocelot up per data dir', () => {
  it('refuses a data dir whose pid file names a live process, and takes over one left by a dead process', async () => {
    const dir = dataDir();
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(path.join(dir, 'ocelot.pid'), `${other.pid}\n`);
      expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
      expect(() => lockDataDir(dir)).toThrow(new RegExp(`in use by another ocelot up \\(pid ${other.pid}\\)`));
    } finally {
      other.kill('SIGKILL');
      await new Promise((r) => other.once('exit', r));
    }
    // The owner is gone (kill -9, power loss): the next start takes the file over.
    const lock = lockDataDir(dir);
    expect(fs.readFileSync(path.join(dir, 'ocelot.pid'), 'utf8').trim()).toBe(String(process.pid));
    lock.release();
    expect(fs.existsSync(path.join(dir, 'ocelot.pid'))).toBe(false);
  });

  it('refuses a second start in the same process until the first releases', () => {
    const dir = dataDir();
    const first = lockDataDir(dir);
    expect(() => lockDataDir(dir)).toThrow(/already in use by this process/);
    first.release();
    lockDataDir(dir).release();
  });
});
