import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTree } from './remove-tree.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-rmtree-'));
/** What the trees' symlinks point at: it must survive every removal. */
const outside = path.join(tmp, 'outside');
fs.mkdirSync(outside);
fs.writeFileSync(path.join(outside, 'keep.txt'), 'keep');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function tree(root: string, dirs: number, filesPerDir: number): void {
  for (let d = 0; d < dirs; d++) {
    const dir = path.join(root, `d${d}`, 'nested');
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < filesPerDir; f++) fs.writeFileSync(path.join(dir, `f${f}`), 'x');
    fs.symlinkSync(outside, path.join(root, `d${d}`, 'link-outside'));
  }
}

describe('removeTree', () => {
  it('removes a small tree (and never follows a symlink out of it)', async () => {
    const root = path.join(tmp, 'small');
    tree(root, 3, 4);
    await removeTree(root);
    expect(fs.existsSync(root)).toBe(false);
    expect(fs.readFileSync(path.join(outside, 'keep.txt'), 'utf8')).toBe('keep');
  });

  it('removes a tree bigger than its synchronous budget, the rest asynchronously', async () => {
    const root = path.join(tmp, 'big');
    tree(root, 40, 30); // 1,200 files and more: past the budget
    await removeTree(root);
    expect(fs.existsSync(root)).toBe(false);
    expect(fs.readFileSync(path.join(outside, 'keep.txt'), 'utf8')).toBe('keep');
  });

  it('a missing directory or a plain file is fine', async () => {
    await removeTree(path.join(tmp, 'never-was'));
    const file = path.join(tmp, 'plain');
    fs.writeFileSync(file, 'x');
    await removeTree(file);
    expect(fs.existsSync(file)).toBe(false);
  });
});
