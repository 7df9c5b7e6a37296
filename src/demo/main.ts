/**
 * `npm run demo`: a real build on the embedded default, end to end, on a fresh clone.
 *
 * 1. creates a sample git repository and serves it over local git smart-HTTP;
 * 2. starts `ocelot up` (server + in-process werker + SQLite) in a temporary data dir;
 * 3. delivers a real GitHub push payload (GitHub's documented example, re-pointed at the sample repo),
 *    signed with the server's webhook secret, to POST /hooks/github;
 * 4. follows the build's log with `ocelot logs --follow` and prints `ocelot status` — the real CLI, over HTTP.
 *
 * `--docker` runs the same pipeline in a container (needs a Docker engine and the image named by --image,
 * default ocelot-test/busybox:latest, which scripts/ensure-docker.sh builds). `--keep` keeps the temp dir.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startUp, defaultUpOptions } from '../embedded/up.js';
import { startGitHttpServer } from '../devtools/git-http-server.js';
import { createTestRepo } from '../devtools/test-repo.js';
import { repointGithubPush } from '../devtools/payloads.js';
import { githubDeliveryHeaders } from '../forges/github/sign.js';
import { probeDocker } from '../runtimes/docker/index.js';

const args = process.argv.slice(2);
const useDocker = args.includes('--docker');
const keep = args.includes('--keep');
const image = args.includes('--image') ? args[args.indexOf('--image') + 1]! : 'ocelot-test/busybox:latest';
const bin = fileURLToPath(new URL('../../bin/ocelot.js', import.meta.url));

const PIPELINE = `# The demo pipeline: original ocelot.yml keys.
${useDocker ? `image: ${image}\n` : ''}buildTool: shell
branches: [ALL]
env:
  - "GREETING=hello from Ocelot"
stages:
  - name: hello
    script:
      - echo "$GREETING"
      - echo "building $GIT_HASH_SHORT of branch $GIT_BRANCH as build $BUILD_ID in $WORKSPACE"
  - name: test
    env: ["COUNT=3"]
    script:
      - sh ./test.sh
  - name: deploy
    triggers: ['\\branch release/.* and \\filepath deploy/']
    script: ["echo deploying"]
`;

const TEST_SH = `set -e
i=1
while [ "$i" -le "$COUNT" ]; do echo "test $i of $COUNT: ok"; i=$((i+1)); done
test -f README.md
echo "all tests passed"
`;

async function main(): Promise<number> {
  if (useDocker) {
    // Say it up front rather than let the build fail in validation for want of a docker runtime.
    const health = await probeDocker({ timeoutMs: 5_000 });
    if (!health.ok) {
      console.error(`demo --docker needs a Docker engine: ${health.reason}\nrun scripts/ensure-docker.sh (starts one and builds ${image}), or drop --docker`);
      return 1;
    }
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-demo-'));
  const gitRoot = path.join(tmp, 'git');
  step(`sample repository demo/hello in ${gitRoot}`);
  const repo = await createTestRepo(
    path.join(gitRoot, 'demo'),
    { 'ocelot.yml': PIPELINE, 'test.sh': TEST_SH, 'README.md': '# hello\n' },
    { name: 'hello', message: 'Add the demo pipeline' },
  );
  const git = await startGitHttpServer({ root: gitRoot });
  const cloneUrl = `${git.url}/demo/hello.git`;
  step(`served over git smart-HTTP at ${cloneUrl}`);

  const up = await startUp(
    { ...defaultUpOptions(), port: 0, host: '127.0.0.1', dataDir: path.join(tmp, 'data'), docker: useDocker, slots: 1 },
    (msg) => console.log(`  [ocelot up] ${msg}`),
  );
  let exit = 1;
  try {
    const require = createRequire(import.meta.url);
    const examples = require('@octokit/webhooks-examples/api.github.com/index.json') as Array<{ name: string; examples: any[] }>;
    const template = examples.find((e) => e.name === 'push')!.examples.find((p) => String(p.ref).startsWith('refs/heads/') && p.commits.length > 0);
    const head = repo.commits[repo.commits.length - 1]!;
    const payload = repointGithubPush(template, {
      cloneUrl,
      account: 'demo',
      repo: 'hello',
      branch: 'main',
      before: '0'.repeat(40),
      commits: [{ id: head, message: 'Add the demo pipeline', added: ['ocelot.yml', 'test.sh', 'README.md'] }],
      sender: os.userInfo().username,
    });
    const body = JSON.stringify(payload);
    step('delivering a signed GitHub push webhook to POST /hooks/github');
    const res = await fetch(`${up.url}/hooks/github`, {
      method: 'POST',
      headers: githubDeliveryHeaders('push', body, up.webhookSecret, `demo-${Date.now()}`),
      body,
    });
    const answer = (await res.json()) as { buildIds?: number[]; reason?: string };
    console.log(`  HTTP ${res.status} ${JSON.stringify(answer)}`);
    const buildId = answer.buildIds?.[0];
    if (!buildId) throw new Error(`the webhook did not queue a build: ${answer.reason ?? res.status}`);

    const env = { ...process.env, OCELOT_SERVER: up.url, OCELOT_TOKEN: up.adminToken };
    step(`ocelot logs ${buildId} --follow`);
    await cli(['logs', String(buildId), '--follow'], env);
    step(`ocelot status --build-id ${buildId}`);
    await cli(['status', '--build-id', String(buildId)], env);
    const build = (await (await fetch(`${up.url}/api/v1/builds/${buildId}`)).json()) as { build: { state: string } };
    exit = build.build.state === 'PASSED' ? 0 : 1;
    step(exit === 0 ? 'the demo build PASSED' : `the demo build ended ${build.build.state}`);
  } finally {
    await up.stop();
    await git.close();
    if (!keep) fs.rmSync(tmp, { recursive: true, force: true });
    else console.log(`kept ${tmp}`);
  }
  return exit;
}

function step(text: string) {
  console.log(`\n▶ ${text}`);
}

function cli(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...argv], { env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', () => resolve());
  });
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`demo failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
