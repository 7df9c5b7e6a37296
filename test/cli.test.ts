/**
 * The `ocelot` CLI as a user runs it: the real binary (dist/) against a real server (in-process `startUp`, real
 * HTTP and SQLite), real git repositories served over smart HTTP, real signed webhooks. One server keeps its
 * werker paused (builds stay QUEUED, so status/summary/kill see exactly what the test created); another runs
 * builds (trigger, stages in status). `validate` and `run` need no server.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUp, defaultUpOptions, type RunningUp } from '../src/embedded/up.js';
import type { BuildEvent } from '../src/events/model.js';
import { startGitHttpServer, type GitHttpServer } from '../src/devtools/git-http-server.js';
import { addCommit, createTestRepo, type TestRepo } from '../src/devtools/test-repo.js';
import { ocelot, ocelotJson } from './support/ocelot-process.js';
import { FIXTURES_DIR } from './support/fixtures.js';
import { pushGithub, waitFinal, type StatusJson } from './support/builds.js';

const ESC = '\u001b';
const USER = os.userInfo().username;

function event(account: string, repo: string, commit: string, extra: Partial<BuildEvent> = {}): BuildEvent {
  return {
    forge: 'github',
    kind: 'push',
    account,
    repo,
    cloneUrl: `http://127.0.0.1:9/${account}/${repo}.git`,
    commit,
    branch: 'main',
    commitMessages: ['a commit'],
    changedFiles: null,
    sender: 'alice',
    ...extra,
  };
}

/** Each header word starts a column; every row must have its cell start exactly there (aligned). */
function expectAligned(tableText: string): void {
  const lines = tableText.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0]!;
  const starts = [...header.matchAll(/\S+/g)].map((m) => m.index!);
  expect(starts.length).toBeGreaterThan(2);
  for (const row of lines.slice(1)) {
    for (const c of starts.slice(1)) {
      if (c >= row.length) continue; // an empty last cell (trailing spaces are trimmed)
      expect(row.slice(c - 2, c), `row ${JSON.stringify(row)} at column ${c}`).toBe('  ');
      expect(row[c], `row ${JSON.stringify(row)} at column ${c}`).toMatch(/\S/);
    }
  }
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-cli-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('against a server whose werker is paused (builds stay QUEUED)', () => {
  let up: RunningUp;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    up = await startUp(
      { ...defaultUpOptions(), port: 0, host: '127.0.0.1', dataDir: path.join(tmp, 'paused'), docker: false, slots: 1, quiet: true, pauseWerker: true },
      () => {},
    );
    env = { OCELOT_SERVER: up.url, OCELOT_TOKEN: up.adminToken, NO_COLOR: '1' };
  });
  afterAll(async () => {
    await up?.stop();
  });

  it('status --hash: the NEWEST build of that commit, by prefix, with who and what triggered', async () => {
    const commit = 'd00d' + '1'.repeat(36);
    const first = await up.store.createBuild(event('acme', 'twice', commit));
    const second = await up.store.createBuild(event('acme', 'twice', commit, { sender: 'bob' }));
    expect(second.id).toBeGreaterThan(first.id);
    for (const prefix of ['d00d', 'D00D11', commit]) {
      const s = await ocelotJson<StatusJson>(['status', '--hash', prefix], env);
      expect(s.build.id).toBe(second.id);
      expect(s.build.commit).toBe(commit);
    }
    const human = await ocelot(['status', '--hash', 'd00d'], env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^build ${second.id}\\s+QUEUED`));
    expect(human.stdout).toContain('acme/twice (github)');
    expect(human.stdout).toContain(`commit:     ${commit}  branch main`);
    expect(human.stdout).toContain('triggered:  push by bob');
    expect(human.stdout).toMatch(/queued: .* waited -/);
    expect(human.stdout).not.toContain(ESC);
  });

  it('status --hash with a prefix of several commits exits non-zero and lists each with its acct/repo and how to pick', async () => {
    const c1 = 'abc1' + '0'.repeat(36);
    const c2 = 'abc2' + '0'.repeat(36);
    await up.store.createBuild(event('acme', 'alpha', c1));
    const b2 = await up.store.createBuild(event('beta', 'bravo', c2));
    const r = await ocelot(['status', '--hash', 'abc'], env);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/matches 2 commits/);
    expect(r.stderr).toMatch(new RegExp(`${c1.slice(0, 12)}\\s+acme/alpha\\s+${c1}`));
    expect(r.stderr).toMatch(new RegExp(`${c2.slice(0, 12)}\\s+beta/bravo\\s+${c2}`));
    expect(r.stderr).toMatch(/give more characters/);
    expect(r.stderr).toContain('--build-id');
    // Following that advice picks one.
    expect((await ocelotJson<StatusJson>(['status', '--hash', 'abc2'], env)).build.id).toBe(b2.id);
  });

  it('status --acct-repo, --acct and --build-id; unknown ones fail with a clear message', async () => {
    const older = await up.store.createBuild(event('gamma', 'one', 'e1' + '0'.repeat(38)));
    const newer = await up.store.createBuild(event('gamma', 'one', 'e2' + '0'.repeat(38)));
    const otherRepo = await up.store.createBuild(event('gamma', 'two', 'e3' + '0'.repeat(38)));
    expect((await ocelotJson<StatusJson>(['status', '--acct-repo', 'gamma/one'], env)).build.id).toBe(newer.id);
    expect((await ocelotJson<StatusJson>(['status', '--acct', 'gamma'], env)).build.id).toBe(otherRepo.id);
    const byId = await ocelotJson<StatusJson>(['status', '--build-id', String(older.id)], env);
    expect(byId.build).toMatchObject({ id: older.id, acctRepo: 'gamma/one', state: 'QUEUED', event: 'push', triggeredBy: 'alice' });
    expect(byId.stages).toEqual([]);

    const cases: Array<[string[], RegExp]> = [
      [['--build-id', '999999'], /build 999999 does not exist/],
      [['--build-id', 'abc'], /--build-id must be a whole number/],
      [['--hash', 'fedcba98'], /no build found for a commit starting with fedcba98/],
      [['--hash', 'xyz'], /not a commit hash prefix/],
      [['--acct-repo', 'gamma/nothing'], /no builds found for gamma\/nothing/],
      [['--acct', 'nobody'], /no builds found for nobody/],
      [[], /say which build/],
    ];
    for (const [args, message] of cases) {
      const r = await ocelot(['status', ...args], env);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr, args.join(' ')).toMatch(/^ocelot: /);
      expect(r.stderr, args.join(' ')).not.toMatch(/\n\s+at /); // one clear line, not a stack trace
    }
  });

  it('summary: acct/orch* globs, --acct, --limit, --json; aligned table with no escape codes under NO_COLOR', async () => {
    const made: Record<string, number> = {};
    for (const [acct, repo] of [['orc', 'orchestra'], ['orc', 'orchid'], ['orc', 'other'], ['xorc', 'orchard'], ['band', 'orchestra']] as const) {
      made[`${acct}/${repo}`] = (await up.store.createBuild(event(acct, repo, 'f0' + String(Object.keys(made).length).padStart(38, '0'), { branch: 'feature/x' }))).id;
    }
    const glob = await ocelotJson<{ builds: Array<{ id: number; acctRepo: string }> }>(['summary', '--acct-repo', 'orc/orch*'], env);
    expect(glob.builds.map((b) => b.acctRepo)).toEqual(['orc/orchid', 'orc/orchestra']); // newest first, anchored
    const suffix = await ocelotJson<{ builds: Array<{ acctRepo: string }> }>(['summary', '--acct-repo', '*/orchestra'], env);
    expect(suffix.builds.map((b) => b.acctRepo)).toEqual(['band/orchestra', 'orc/orchestra']);
    const acct = await ocelotJson<{ builds: Array<{ acctRepo: string }> }>(['summary', '--acct', 'orc'], env);
    expect(acct.builds.map((b) => b.acctRepo)).toEqual(['orc/other', 'orc/orchid', 'orc/orchestra']);
    const limited = await ocelotJson<{ builds: Array<{ id: number }> }>(['summary', '--limit', '2'], env);
    expect(limited.builds.map((b) => b.id)).toEqual([made['band/orchestra'], made['xorc/orchard']]);
    const none = await ocelot(['summary', '--acct-repo', 'orc/zz*'], env);
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/no builds/);

    const human = await ocelot(['summary', '--acct-repo', 'orc/orch*'], env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).not.toContain(ESC);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ID\s+REPO\s+REF\s+COMMIT\s+STATE\s+EVENT\s+BY\s+QUEUED\s+WAIT\s+DURATION$/);
    expect(lines[1]).toMatch(new RegExp(`^${made['orc/orchid']}\\s+orc/orchid\\s+feature/x\\s+f000000\\s+QUEUED\\s+push\\s+alice\\s`));
    expectAligned(human.stdout);
    // Without NO_COLOR but not on a terminal (a pipe, as here) there are no escape codes either.
    const piped = await ocelot(['summary', '--acct-repo', 'orc/orch*'], { ...env, NO_COLOR: '' });
    expect(piped.stdout).not.toContain(ESC);
  });

  it('bad flag values and an empty build argument are usage errors that say what to give', async () => {
    for (const limit of ['-5', '0', 'abc', '1001']) {
      const r = await ocelot(['summary', '--limit', limit], env);
      expect(r.code, limit).toBe(2);
      expect(r.stderr, limit).toMatch(/^ocelot: --limit must be a whole number from 1 to 1000/);
    }
    for (const cmd of ['logs', 'kill']) {
      const r = await ocelot([cmd, ''], env);
      expect(r.code, cmd).toBe(2);
      expect(r.stderr, cmd).toBe('ocelot: give a build id or a commit hash prefix\n');
    }
  });

  it('kill of a QUEUED build ends it CANCELLED at once, with the reason', async () => {
    const b = await up.store.createBuild(event('delta', 'queued', 'aa' + '5'.repeat(38)));
    const r = await ocelot(['kill', String(b.id)], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`build ${b.id} CANCELLED: cancelled`));
    const s = await ocelotJson<StatusJson>(['status', '--build-id', String(b.id)], env);
    expect(s.build.state).toBe('CANCELLED');
    expect(s.build.reason).toMatch(/cancelled with ocelot kill by /);
    // By hash prefix, with --json; killing it again changes nothing.
    const b2 = await up.store.createBuild(event('delta', 'queued', 'ab' + '6'.repeat(38)));
    const j = await ocelotJson<{ build: { id: number; state: string } }>(['kill', 'ab666'], env);
    expect(j.build).toMatchObject({ id: b2.id, state: 'CANCELLED' });
    const again = await ocelot(['kill', String(b.id)], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/CANCELLED/);
    const noToken = await ocelot(['kill', String(b2.id)], { ...env, OCELOT_TOKEN: '' });
    expect(noToken.code).not.toBe(0);
    expect(noToken.stderr).toMatch(/OCELOT_TOKEN/);
  });
});

const WIDGETS = `buildTool: shell
branches: [main]
stages:
  - name: build
    script:
      - echo "building $GIT_BRANCH at $GIT_HASH_SHORT"
  - name: check
    script:
      - test "$CI" = true
`;

describe('against a server whose werker runs builds', () => {
  let up: RunningUp;
  let git: GitHttpServer;
  let widgets: TestRepo;
  let env: NodeJS.ProcessEnv;
  let pushed: number;

  beforeAll(async () => {
    widgets = await createTestRepo(path.join(tmp, 'git', 'acme'), { 'ocelot.yml': WIDGETS }, { name: 'widgets' });
    git = await startGitHttpServer({ root: path.join(tmp, 'git') });
    up = await startUp(
      { ...defaultUpOptions(), port: 0, host: '127.0.0.1', dataDir: path.join(tmp, 'running'), docker: false, slots: 2, quiet: true },
      () => {},
    );
    env = { OCELOT_SERVER: up.url, OCELOT_TOKEN: up.adminToken, NO_COLOR: '1' };
    // The server learns the repository (and its clone URL) from a webhook.
    pushed = await pushGithub({ server: up.url, secret: up.webhookSecret, gitUrl: git.url, repo: widgets, account: 'acme', name: 'widgets' });
    const s = await waitFinal(pushed, env);
    expect(s.build.state, s.build.reason ?? '').toBe('PASSED');
  });
  afterAll(async () => {
    await up?.stop();
    await git?.close();
  });

  it('status shows every stage with state, exit code and duration in an aligned table', async () => {
    const r = await ocelot(['status', '--build-id', String(pushed)], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(ESC);
    expect(r.stdout).toMatch(new RegExp(`^build ${pushed}\\s+PASSED`));
    expect(r.stdout).toContain('triggered:  push by octocat');
    expect(r.stdout).toMatch(/waited \d+(ms|\.\ds)\s+ran \d/);
    const tableText = r.stdout.slice(r.stdout.indexOf('#  '));
    expect(tableText).toMatch(/^#\s+STAGE\s+STATE\s+EXIT\s+TIME\s+REASON \/ MESSAGES\n/);
    expect(tableText).toMatch(/\n0\s+workspace\s+PASSED\s+-\s+\d/);
    expect(tableText).toMatch(/\n2\s+build\s+PASSED\s+0\s+\d/);
    expect(tableText).toMatch(/\n3\s+check\s+PASSED\s+0\s+\d/);
    const lines = tableText.trimEnd().split('\n');
    // TIME and EXIT columns line up (the REASON column is free text and may be empty).
    const exitCol = lines[0]!.indexOf('EXIT');
    for (const l of lines.slice(1)) expect(l.slice(exitCol - 2, exitCol + 1)).toMatch(/^ {2}[-0-9]$/);
  });

  it('trigger --branch resolves the head with git and queues a manual build by cli:<user>', async () => {
    const r = await ocelot(['trigger', 'acme/widgets', '--branch', 'main'], env);
    expect(r.code, r.stderr).toBe(0);
    const id = Number(/queued build (\d+) of acme\/widgets at ([0-9a-f]{40}) \(main\)/.exec(r.stdout)?.[1]);
    expect(id).toBeGreaterThan(pushed);
    expect(r.stdout).toContain(`ocelot logs ${id} --follow`);
    const s = await waitFinal(id, env);
    expect(s.build).toMatchObject({ state: 'PASSED', event: 'manual', triggeredBy: `cli:${USER}`, commit: widgets.commits[0], branch: 'main' });
  });

  it('trigger on another branch builds its head; branches: [main] skips it unless --force', async () => {
    const head = await addCommit(widgets, { 'feature.txt': 'x\n' }, { branch: 'feature', message: 'on a branch' });
    widgets.branch = 'main';
    const plain = await ocelotJson<{ build: { id: number; commit: string; branch: string } }>(['trigger', 'acme/widgets', '--branch', 'feature'], env);
    expect(plain.build).toMatchObject({ commit: head, branch: 'feature' });
    const skipped = await waitFinal(plain.build.id, env);
    expect(skipped.build.state).toBe('SKIPPED');
    expect(skipped.build.reason).toMatch(/branch feature is not in branches: main/);

    const forced = await ocelotJson<{ build: { id: number; commit: string } }>(['trigger', 'acme/widgets', '--branch', 'feature', '--force'], env);
    expect(forced.build.commit).toBe(head);
    const s = await waitFinal(forced.build.id, env);
    expect(s.build.state, s.build.reason ?? '').toBe('PASSED');
    expect(s.build.triggeredBy).toBe(`cli:${USER}`);
  });

  it('trigger --hash builds that commit (full hash, or a prefix of one Ocelot has built)', async () => {
    const first = widgets.commits[0]!;
    const full = await ocelotJson<{ build: { id: number; commit: string; event: string } }>(['trigger', 'acme/widgets', '--hash', first], env);
    expect(full.build).toMatchObject({ commit: first, event: 'manual' });
    const byPrefix = await ocelotJson<{ build: { id: number; commit: string; branch: string } }>(['trigger', 'acme/widgets', '--hash', first.slice(0, 8)], env);
    expect(byPrefix.build).toMatchObject({ commit: first, branch: 'main' });
    expect((await waitFinal(full.build.id, env)).build.state).toBe('PASSED');
    expect((await waitFinal(byPrefix.build.id, env)).build.state).toBe('PASSED');
  });

  it('trigger: unknown repository, unknown branch, missing token and missing ref say what is wrong', async () => {
    const unknown = await ocelot(['trigger', 'nobody/nothing', '--branch', 'main'], env);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/has not seen nobody\/nothing/);
    const branch = await ocelot(['trigger', 'acme/widgets', '--branch', 'no-such-branch'], env);
    expect(branch.code).toBe(3);
    expect(branch.stderr).toMatch(/branch no-such-branch does not exist in acme\/widgets/);
    const noToken = await ocelot(['trigger', 'acme/widgets', '--branch', 'main'], { ...env, OCELOT_TOKEN: '' });
    expect(noToken.code).not.toBe(0);
    expect(noToken.stderr).toMatch(/admin token/);
    expect(noToken.stderr).toMatch(/OCELOT_TOKEN/);
    expect(noToken.stderr).not.toMatch(/rejected/);
    const wrongToken = await ocelot(['trigger', 'acme/widgets', '--branch', 'main'], { ...env, OCELOT_TOKEN: 'wrong-token-x' });
    expect(wrongToken.code).not.toBe(0);
    expect(wrongToken.stderr).toMatch(/the token was rejected: check OCELOT_TOKEN \(the admin token printed by ocelot up \/ kept in <data-dir>\/admin-token\)/);
    expect(wrongToken.stderr).not.toContain('wrong-token-x');
    const noRef = await ocelot(['trigger', 'acme/widgets'], env);
    expect(noRef.code).not.toBe(0);
    expect(noRef.stderr).toMatch(/--branch/);
  });
});

describe('without a server', () => {
  const PIPELINES = path.join(FIXTURES_DIR, 'pipelines');

  it('validate: a valid file exits 0 with a summary; a checkout directory works too', async () => {
    const dir = path.join(tmp, 'validate-ok');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(PIPELINES, 'ocelot/shankj3-ocelot.HEAD.ocelot.yml'), path.join(dir, 'ocelot.yml'));
    for (const target of [path.join(dir, 'ocelot.yml'), dir]) {
      const r = await ocelot(['validate', target], { NO_COLOR: '1' });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/ocelot\.yml is valid: 6 stage\(s\), runtime docker \(image docker\.metaverse\.l11\.com\/ocelot\/base:latest\)/);
      expect(r.stdout).toContain('- triggered  (when \\branch creds_to_postgres)');
      expect(r.stdout).not.toMatch(/only reads a file named/);
      expect(r.stdout).not.toContain(ESC);
    }
  });

  it('validate: an invalid file exits 1 naming file:line:col and what to do', async () => {
    const conj = await ocelot(['validate', path.join(PIPELINES, 'invalid/ocelot.test-ocelot.ed81fb3.trigger-missing-conjunction.ocelot.yml')], {});
    expect(conj.code).toBe(1);
    expect(conj.stdout).toMatch(/trigger-missing-conjunction\.ocelot\.yml:20:24: .*missing `and` or `or` before \\filepath/);
    const noScript = await ocelot(['validate', path.join(PIPELINES, 'invalid/ocelot.test-ocelot.e319607.stage-without-script.ocelot.yml')], {});
    expect(noScript.code).toBe(1);
    expect(noScript.stdout).toMatch(/stage-without-script\.ocelot\.yml:\d+:\d+: .*skipme/);
    const notMap = await ocelot(['validate', path.join(PIPELINES, 'invalid/ocelot.validate-fixture.not-a-mapping.ocelot.yml')], {});
    expect(notMap.code).toBe(1);
    expect(notMap.stdout).toMatch(/not-a-mapping\.ocelot\.yml:1:1: .*mapping/);
    const missing = await ocelot(['validate', path.join(tmp, 'nope', 'ocelot.yml')], {});
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/no such file/);
  });

  it('validate --branch says which stages would run, and when the branch would not build at all', async () => {
    const head = path.join(PIPELINES, 'ocelot/shankj3-ocelot.HEAD.ocelot.yml');
    const master = await ocelot(['validate', head, '--branch', 'master'], { NO_COLOR: '1' });
    expect(master.code).toBe(0);
    expect(master.stdout).toContain('on a push to master:');
    expect(master.stdout).toMatch(/run {2}be_useful/);
    expect(master.stdout).toMatch(/skip triggered {2}\(trigger not met: \\branch creds_to_postgres \(branch is master\)\)/);
    const creds = await ocelot(['validate', head, '--branch', 'creds_to_postgres'], { NO_COLOR: '1' });
    expect(creds.stdout).toMatch(/run {2}triggered/);
    const restricted = await ocelot(['validate', path.join(PIPELINES, 'ocelot/shankj3-ocelot.2018-02-12.ocelot.yml'), '--branch', 'feature'], { NO_COLOR: '1' });
    expect(restricted.code).not.toBe(0);
    expect(restricted.stdout).toMatch(/branch feature would not build: .*master/);
  });

  it('validate warns about a file not named ocelot.yml; --json gives the pipeline, the plan and the issues', async () => {
    const badName = await ocelot(['validate', path.join(PIPELINES, 'invalid/ocelot.validate-fixture.bad-name.yml')], { NO_COLOR: '1' });
    expect(badName.code).toBe(0);
    expect(badName.stdout).toMatch(/bad-name\.yml: the server only reads a file named ocelot\.yml/);

    const ok = await ocelotJson<{ valid: boolean; nameWarning?: boolean; pipeline: { stages: Array<{ name: string }> }; plan: { build: boolean; stages: Array<{ name: string; run: boolean; reason?: string }> } }>(
      ['validate', path.join(PIPELINES, 'ocelot/shankj3-ocelot.HEAD.ocelot.yml'), '--branch', 'master'],
      {},
    );
    expect(ok.valid).toBe(true);
    expect(ok.nameWarning).toBe(true);
    expect(ok.pipeline.stages.map((s) => s.name)).toEqual(['check ssh file', 'triggered', 'be_useful', 'go_stuff', 'testing', 'build']);
    expect(ok.plan.build).toBe(true);
    expect(ok.plan.stages.find((s) => s.name === 'triggered')).toMatchObject({ run: false });
    const bad = await ocelot(['validate', path.join(PIPELINES, 'invalid/ocelot.validate-fixture.no-buildTool.ocelot.yml'), '--json'], {});
    expect(bad.code).toBe(1);
    const j = JSON.parse(bad.stdout) as { valid: boolean; issues: Array<{ file: string; line: number; column: number; message: string }> };
    expect(j.valid).toBe(false);
    expect(j.issues[0]).toMatchObject({ file: 'ocelot.validate-fixture.no-buildTool.ocelot.yml' });
    expect(j.issues[0]!.line).toBeGreaterThan(0);
    expect(j.issues[0]!.message).toMatch(/buildTool/);
  });

  it('up --slots 0 is a usage error, not silently one slot', async () => {
    const r = await ocelot(['up', '--slots', '0', '--port', '0', '--host', '127.0.0.1', '--data-dir', path.join(tmp, 'slots0'), '--no-docker'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ocelot: --slots must be a whole number of at least 1, got '0'\n$/);
    expect(fs.existsSync(path.join(tmp, 'slots0'))).toBe(false); // refused before anything started
  });

  it('up and server: a taken port or an unusable --data-dir is one clear line, no stack', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const busy = await ocelot(['up', '--port', String(port), '--host', '127.0.0.1', '--data-dir', path.join(tmp, 'busy'), '--no-docker'], {});
      expect(busy.code).toBe(2);
      expect(busy.stderr).toBe(`ocelot: port ${port} is already in use on 127.0.0.1; pick another with --port\n`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    for (const [args, reason] of [
      [['up', '--port', '0', '--host', '127.0.0.1', '--no-docker', '--data-dir', file], /it exists and is not a directory/],
      [['up', '--port', '0', '--host', '127.0.0.1', '--no-docker', '--data-dir', path.join(file, 'sub')], /a part of the path is a file, not a directory/],
      [['server', '--database', 'postgres://nobody@127.0.0.1:1/none', '--port', '0', '--data-dir', file], /it exists and is not a directory/],
    ] as const) {
      const r = await ocelot([...args], {});
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^ocelot: --data-dir \S+ cannot be used: .*\n$/);
      expect(r.stderr, args.join(' ')).toMatch(reason);
    }
  });

  it('version and version --json print the package version', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../package.json'), 'utf8')) as { version: string };
    const human = await ocelot(['version'], {});
    expect(human.code).toBe(0);
    expect(human.stdout).toBe(`ocelot ${pkg.version}\n`);
    expect(await ocelotJson(['version'], {})).toEqual({ version: pkg.version });
    expect((await ocelot(['--version'], {})).stdout.trim()).toBe(pkg.version);
  });

  it('run <dir>: a passing pipeline on the host, a trigger-skipped stage SKIPPED with its reason', async () => {
    const repo = await createTestRepo(path.join(tmp, 'run'), {
      'ocelot.yml': `buildTool: shell
env: ["GREETING=hello"]
stages:
  - name: hello
    script:
      - echo "$GREETING from $GIT_BRANCH at $GIT_HASH_SHORT"
      - test "$CI" = true && test "$(pwd)" = "$WORKSPACE"
  - name: release
    triggers: ['\\branch release/.*']
    script: ["echo releasing"]
  - name: last
    script: ["echo done > ran.txt"]
`,
    }, { name: 'local' });
    const r = await ocelot(['run', repo.workDir], { NO_COLOR: '1' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`hello from main at ${repo.commits[0]!.slice(0, 7)}`);
    expect(r.stdout).not.toContain('releasing');
    expect(r.stdout).not.toContain(ESC);
    expect(fs.readFileSync(path.join(repo.workDir, 'ran.txt'), 'utf8')).toBe('done\n');
    const tableText = r.stdout.slice(r.stdout.lastIndexOf('STAGE'));
    expect(tableText).toMatch(/\nhello\s+PASSED\s+0\s+\d/);
    expect(tableText).toMatch(/\nrelease\s+SKIPPED\s+-\s+-\s+trigger not met: \\branch release\/\.\* \(branch is main\)/);
    expect(tableText).toMatch(/\nlast\s+PASSED\s+0\s/);
    expect(r.stdout.trimEnd().split('\n').pop()).toBe('PASSED');
    expectAligned(tableText.slice(0, tableText.lastIndexOf('\nPASSED')));

    const j = await ocelotJson<{ passed: boolean; stages: Array<{ name: string; state: string; exitCode: number | null; reason?: string }> }>(['run', repo.workDir], {});
    expect(j.passed).toBe(true);
    expect(j.stages.map((s) => [s.name, s.state, s.exitCode])).toEqual([
      ['hello', 'PASSED', 0],
      ['release', 'SKIPPED', null],
      ['last', 'PASSED', 0],
    ]);
  });

  it('run <dir>: a failing stage gives exit code 1, its own exit code in the table, and later stages SKIPPED', async () => {
    const repo = await createTestRepo(path.join(tmp, 'run'), {
      'ocelot.yml': `buildTool: shell
stages:
  - name: first
    script: ["echo first"]
  - name: breaks
    script:
      - echo before
      - sh -c 'exit 7'
      - echo never
  - name: after
    script: ["echo after"]
`,
    }, { name: 'failing' });
    const r = await ocelot(['run', repo.workDir], { NO_COLOR: '1' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('before');
    expect(r.stdout).not.toContain('never');
    const tableText = r.stdout.slice(r.stdout.lastIndexOf('STAGE'));
    expect(tableText).toMatch(/\nfirst\s+PASSED\s+0\s/);
    expect(tableText).toMatch(/\nbreaks\s+FAILED\s+7\s/);
    expect(tableText).toMatch(/\nafter\s+SKIPPED\s+-\s+-\s+an earlier stage failed/);
    expect(r.stdout.trimEnd().split('\n').pop()).toBe('FAILED');
    // --json: stdout is only the result (stage output goes to stderr), and the exit code still says FAILED.
    const jr = await ocelot(['run', repo.workDir, '--json'], {});
    expect(jr.code).toBe(1);
    expect(jr.stderr).toContain('before');
    const j = JSON.parse(jr.stdout) as { passed: boolean; stages: Array<{ name: string; state: string; exitCode: number | null }> };
    expect(j.passed).toBe(false);
    expect(j.stages.map((s) => [s.name, s.state, s.exitCode])).toEqual([
      ['first', 'PASSED', 0],
      ['breaks', 'FAILED', 7],
      ['after', 'SKIPPED', null],
    ]);
  });
});
