/** What the server turns into 400s: every WebhookError carries a reason a user can act on. */
import { describe, expect, it } from 'vitest';
import type { NormalizeResult } from '../events/model.js';
import { bitbucketForge } from './bitbucket/forge.js';
import type { Forge, WebhookHeaders } from './forge.js';
import { githubForge } from './github/forge.js';
import { WebhookError } from './webhook-error.js';

function reasonOf(forge: Forge, headers: WebhookHeaders, body: string | Uint8Array): string {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  try {
    forge.normalize(headers, bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookError);
    expect((err as WebhookError).statusCode).toBe(400);
    return (err as WebhookError).reason;
  }
  throw new Error('expected a WebhookError');
}

function normalize(forge: Forge, headers: WebhookHeaders, body: unknown): NormalizeResult {
  return forge.normalize(headers, Buffer.from(JSON.stringify(body), 'utf8'));
}

const gh = (event: string): WebhookHeaders => ({ 'x-github-event': event, 'content-type': 'application/json' });
const bb = (event: string): WebhookHeaders => ({ 'x-event-key': event, 'content-type': 'application/json' });

describe('malformed bodies', () => {
  for (const forge of [githubForge, bitbucketForge]) {
    const headers = forge === githubForge ? gh('push') : bb('repo:push');
    it(`${forge.name}: truncated JSON is a 400 saying so`, () => {
      expect(reasonOf(forge, headers, '{"ref": "refs/heads/main",')).toMatch(/^malformed JSON/);
    });
    it(`${forge.name}: an empty body is a 400`, () => {
      expect(reasonOf(forge, headers, '')).toMatch(/^malformed JSON/);
    });
    it(`${forge.name}: a JSON array or string is a 400`, () => {
      expect(reasonOf(forge, headers, '[1,2]')).toMatch(/must be a JSON object/);
      expect(reasonOf(forge, headers, '"push"')).toMatch(/must be a JSON object/);
    });
    it(`${forge.name}: invalid UTF-8 is a 400`, () => {
      expect(reasonOf(forge, headers, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).toMatch(/UTF-8/);
    });
    it(`${forge.name}: a form-encoded body is a 400 telling the user to choose JSON`, () => {
      const form = { ...headers, 'content-type': 'application/x-www-form-urlencoded' };
      expect(reasonOf(forge, form, 'payload=%7B%7D')).toMatch(/application\/json/);
    });
  }
});

describe('event headers', () => {
  it('GitHub: a missing X-GitHub-Event is a 400', () => {
    expect(reasonOf(githubForge, {}, '{}')).toMatch(/missing X-GitHub-Event/);
  });
  it('GitHub: an unknown event is a 400 naming the events to send', () => {
    expect(reasonOf(githubForge, gh('issues'), '{}')).toBe(
      'unsupported GitHub event issues: send push and pull_request events',
    );
  });
  it('Bitbucket: a missing X-Event-Key is a 400', () => {
    expect(reasonOf(bitbucketForge, {}, '{}')).toMatch(/missing X-Event-Key/);
  });
  it('Bitbucket: an unknown event is a 400 naming the events to send', () => {
    expect(reasonOf(bitbucketForge, bb('repo:fork'), '{}')).toMatch(
      /unsupported Bitbucket event repo:fork: send repo:push, pullrequest:created and pullrequest:updated/,
    );
  });
  it('Bitbucket: pull request events that change no code are ignored, not refused', () => {
    for (const key of ['pullrequest:approved', 'pullrequest:rejected', 'pullrequest:comment_created']) {
      expect(normalize(bitbucketForge, bb(key), {})).toEqual({
        outcome: 'ignore',
        reason: `pull request event ${key} does not build`,
      });
    }
  });
});

describe('payloads missing what we need', () => {
  const repository = {
    name: 'r',
    owner: { login: 'a' },
    clone_url: 'https://example.com/a/r.git',
  };
  const push = {
    ref: 'refs/heads/main',
    before: 'a'.repeat(40),
    after: 'b'.repeat(40),
    commits: [],
    repository,
    sender: { login: 'me' },
  };

  it('GitHub push without a ref names the field', () => {
    const { ref: _ref, ...rest } = push;
    expect(reasonOf(githubForge, gh('push'), JSON.stringify(rest))).toBe('payload is missing ref (a non-empty string)');
  });
  it('GitHub push without repository.clone_url names the field', () => {
    const body = { ...push, repository: { ...repository, clone_url: undefined } };
    expect(reasonOf(githubForge, gh('push'), JSON.stringify(body))).toMatch(/repository\.clone_url/);
  });
  it('GitHub push whose after is not a commit id is refused (it would reach a git command line)', () => {
    const body = { ...push, after: '--upload-pack=touch /tmp/x' };
    expect(reasonOf(githubForge, gh('push'), JSON.stringify(body))).toMatch(/after is not a commit id/);
  });
  it('GitHub push with commits of the wrong type is refused', () => {
    expect(reasonOf(githubForge, gh('push'), JSON.stringify({ ...push, commits: 'x' }))).toMatch(/commits/);
  });
  it('GitHub pull_request without pull_request.head.sha names the field', () => {
    const body = {
      action: 'opened',
      repository,
      sender: { login: 'me' },
      pull_request: { number: 1, head: { ref: 'f' }, base: { ref: 'main', repo: { full_name: 'a/r' } } },
    };
    expect(reasonOf(githubForge, gh('pull_request'), JSON.stringify(body))).toBe(
      'payload is missing pull_request.head.sha (a non-empty string)',
    );
  });
  it('Bitbucket push without push.changes[0].new.target names the field', () => {
    const body = {
      actor: { nickname: 'me' },
      repository: { full_name: 'a/r', links: { html: { href: 'https://bitbucket.org/a/r' } } },
      push: { changes: [{ new: { type: 'branch', name: 'main' }, old: null, created: true }] },
    };
    expect(reasonOf(bitbucketForge, bb('repo:push'), JSON.stringify(body))).toMatch(/push\.changes\[0\]\.new\.target/);
  });
  it('Bitbucket pull request without a source commit names the field', () => {
    const body = {
      actor: { nickname: 'me' },
      repository: { full_name: 'a/r', links: { html: { href: 'https://bitbucket.org/a/r' } } },
      pullrequest: { id: 3, source: { branch: { name: 'f' } }, destination: { branch: { name: 'main' } } },
    };
    expect(reasonOf(bitbucketForge, bb('pullrequest:created'), JSON.stringify(body))).toMatch(
      /pullrequest\.source\.commit/,
    );
  });
});
