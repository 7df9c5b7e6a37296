/**
 * GitHub's own documented example payloads (@octokit/webhooks-examples), for github.com and every GHES version
 * the package carries: every push and pull_request example normalizes without throwing and with sane fields;
 * every other event gets the intended answer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isObject, type JsonObject } from '../fields.js';
import { WebhookError } from '../webhook-error.js';
import { githubForge } from './forge.js';

interface Definition {
  name: string;
  examples: JsonObject[];
}

const require = createRequire(import.meta.url);
const packageDir = dirname(require.resolve('@octokit/webhooks-examples/package.json'));
const flavours = readdirSync(packageDir).filter((d) => d === 'api.github.com' || d.startsWith('ghes-'));

function load(flavour: string): Definition[] {
  return JSON.parse(readFileSync(join(packageDir, flavour, 'index.json'), 'utf8')) as Definition[];
}

function normalize(event: string, payload: JsonObject) {
  return githubForge.normalize({ 'x-github-event': event }, Buffer.from(JSON.stringify(payload), 'utf8'));
}

function get(value: unknown, ...path: string[]): unknown {
  let v = value;
  for (const key of path) v = isObject(v) ? v[key] : undefined;
  return v;
}

const SHA = /^[0-9a-f]{40}$/;

it('finds the example sets', () => {
  expect(flavours).toContain('api.github.com');
});

for (const flavour of flavours) {
  const definitions = load(flavour);
  const examplesOf = (name: string) => definitions.filter((d) => d.name === name).flatMap((d) => d.examples);

  describe(`@octokit/webhooks-examples ${flavour}`, () => {
    it('push: every example builds or is an ignored deletion, with sane fields', () => {
      const pushes = examplesOf('push');
      expect(pushes.length).toBeGreaterThan(0);
      for (const p of pushes) {
        const result = normalize('push', p);
        const ref = String(p['ref']);
        if (p['deleted'] === true) {
          expect(result).toEqual({ outcome: 'ignore', reason: expect.stringMatching(/was deleted: nothing to build$/) });
          continue;
        }
        expect(result.outcome).toBe('build');
        if (result.outcome !== 'build') continue;
        const [e] = result.events;
        expect(result.events).toHaveLength(1);
        expect(e!.commit).toMatch(SHA);
        expect(e!.sender).toBe(get(p, 'sender', 'login'));
        expect(e!.account).toBe(get(p, 'repository', 'owner', 'login'));
        expect(e!.repo).toBe(get(p, 'repository', 'name'));
        expect(e!.cloneUrl).toBe(get(p, 'repository', 'clone_url'));
        if (ref.startsWith('refs/tags/')) {
          expect(e!.kind).toBe('tag');
          expect(`refs/tags/${e!.tag}`).toBe(ref);
          expect(e!.branch).toBeUndefined();
        } else {
          expect(e!.kind).toBe('push');
          expect(`refs/heads/${e!.branch}`).toBe(ref);
          expect(e!.tag).toBeUndefined();
        }
        if (p['created'] === true) expect(e!.before).toBeUndefined();
        const commits = p['commits'];
        if (Array.isArray(commits) && commits.length > 0) expect(e!.commitMessages).toHaveLength(commits.length);
        expect(e!.changedFiles === null || Array.isArray(e!.changedFiles)).toBe(true);
      }
    });

    it('pull_request: opened/synchronize/reopened build the head on the source branch, others are ignored', () => {
      const prs = examplesOf('pull_request');
      expect(prs.length).toBeGreaterThan(0);
      for (const p of prs) {
        const action = String(p['action']);
        const result = normalize('pull_request', p);
        if (!['opened', 'synchronize', 'reopened'].includes(action)) {
          expect(result).toEqual({ outcome: 'ignore', reason: `pull request action ${action} does not build` });
          continue;
        }
        expect(result.outcome).toBe('build');
        if (result.outcome !== 'build') continue;
        const e = result.events[0]!;
        expect(e.kind).toBe('pull_request');
        expect(e.commit).toBe(get(p, 'pull_request', 'head', 'sha'));
        expect(e.branch).toBe(get(p, 'pull_request', 'head', 'ref'));
        expect(e.pr).toEqual({
          number: get(p, 'pull_request', 'number'),
          title: get(p, 'pull_request', 'title'),
          sourceBranch: get(p, 'pull_request', 'head', 'ref'),
          targetBranch: get(p, 'pull_request', 'base', 'ref'),
          sourceRepo: get(p, 'pull_request', 'head', 'repo', 'full_name'),
          fromFork: get(p, 'pull_request', 'head', 'repo', 'full_name') !== get(p, 'pull_request', 'base', 'repo', 'full_name'),
          action,
        });
        expect(e.sender).toBe(get(p, 'sender', 'login'));
        expect(e.cloneUrl).toBe(get(p, 'pull_request', 'head', 'repo', 'clone_url'));
      }
    });

    it('ping, create and delete are answered without a build', () => {
      for (const name of ['ping', 'create', 'delete']) {
        for (const p of examplesOf(name)) expect(normalize(name, p).outcome).toBe('ignore');
      }
    });

    it('every other event is a 400 naming the events to send', () => {
      const others = definitions.filter((d) => !['push', 'pull_request', 'ping', 'create', 'delete'].includes(d.name));
      expect(others.length).toBeGreaterThan(0);
      for (const d of others) {
        for (const p of d.examples.slice(0, 1)) {
          expect(() => normalize(d.name, p)).toThrow(WebhookError);
          expect(() => normalize(d.name, p)).toThrow(`unsupported GitHub event ${d.name}`);
        }
      }
    });
  });
}
