import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineGetJson, engineTarget } from './engine-http.js';

describe('engine HTTP reads without the client library', () => {
  let server: http.Server;
  let socket: string;
  const seen: string[] = [];

  beforeAll(async () => {
    // A real HTTP server on a unix socket standing in for the engine: it answers like one, so the parsing and
    // the error paths are exercised over a real connection.
    socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ocelot-engine-')), 'engine.sock');
    server = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      if (req.url === '/version') return res.end(JSON.stringify({ ApiVersion: '1.41' }));
      if (req.url === '/slow') return; // never answers
      res.statusCode = 404;
      res.end('{"message":"page not found"}');
    });
    await new Promise<void>((r) => server.listen(socket, r));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('reads JSON over a unix socket and sends the query as given', async () => {
    await expect(engineGetJson(engineTarget(socket)!, '/version', 1000)).resolves.toEqual({ ApiVersion: '1.41' });
    expect(seen).toContain('/version');
  });

  it('turns a non-2xx answer, a missing socket and a silent engine into errors with the reason', async () => {
    await expect(engineGetJson(engineTarget(socket)!, '/nope', 1000)).rejects.toThrow(/404.*page not found/);
    await expect(engineGetJson({ socketPath: `${socket}.missing` }, '/version', 1000)).rejects.toThrow(/ENOENT/);
    await expect(engineGetJson(engineTarget(socket)!, '/slow', 200)).rejects.toThrow(/did not answer within 200 ms/);
  });

  it('targets: explicit socket, DOCKER_HOST unix and plain tcp; none for ssh or TLS engines', () => {
    expect(engineTarget(undefined, {})).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(engineTarget(undefined, { DOCKER_HOST: 'unix:///run/d.sock' })).toEqual({ socketPath: '/run/d.sock' });
    expect(engineTarget(undefined, { DOCKER_HOST: 'tcp://10.1.2.3:2376' })).toEqual({ host: '10.1.2.3', port: 2376 });
    expect(engineTarget(undefined, { DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1' })).toBeNull();
    expect(engineTarget(undefined, { DOCKER_HOST: 'ssh://me@h' })).toBeNull();
    expect(engineTarget('/x.sock', { DOCKER_HOST: 'ssh://me@h' })).toEqual({ socketPath: '/x.sock' });
  });
});
