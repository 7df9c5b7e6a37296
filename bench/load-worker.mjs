// The load generator of bench/ingest.mjs, in a worker thread: on two cores the client gets one and the server
// the other, for ours and the baseline alike, so the server is not slowed by its own client.
import http from 'node:http';
import { createHmac } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

const { url, count, prefix, concurrency, body, secret, expectStatus } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
const latencies = new Array(count);
let next = 0;
let failures = 0;
let firstFailure = '';

function post(i) {
  return new Promise((resolve, reject) => {
    const headers = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-github-event': 'push',
      'x-github-delivery': `${prefix}-${i}`,
      'x-hub-signature-256': signature,
    };
    const req = http.request(url, { method: 'POST', headers, agent }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const t0 = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      const s = performance.now();
      const res = await post(i);
      latencies[i] = performance.now() - s;
      if (res.status !== expectStatus) {
        failures++;
        firstFailure ||= `${res.status} ${res.text.slice(0, 200)}`;
      }
    }
  }),
);
const wall = performance.now() - t0;
agent.destroy();
parentPort.postMessage({ latencies, wall, failures, firstFailure });
