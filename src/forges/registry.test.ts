import { expect, it } from 'vitest';
import { forges, getForge } from './registry.js';

it('maps the URL segment to the forge of the same name', () => {
  for (const [key, forge] of Object.entries(forges)) expect(forge.name).toBe(key);
  expect(getForge('github')?.name).toBe('github');
  expect(getForge('bitbucket')?.name).toBe('bitbucket');
});

it('knows no other forge, including inherited property names', () => {
  expect(getForge('gitlab')).toBeUndefined();
  expect(getForge('toString')).toBeUndefined();
  expect(getForge('__proto__')).toBeUndefined();
});
