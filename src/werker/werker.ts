/**
 * The werker: N slots, each a loop of claim → run → claim. It talks to the server only through the
 * WerkerServerClient, so `ocelot up` (in-process client) and `ocelot werker` (HTTP client) run this same code.
 *
 * Loops: every slot waits in `claim` (woken by the queue, not by polling); a heartbeat re-registers the werker
 * (tags, runtimes, health) every `heartbeatMs`. stop(): no new claims, running builds get `drainMs` to finish,
 * then are stopped and handed back; nothing is left RUNNING.
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Runtime } from '../runtimes/runtime.js';
import { TokenRefusedError, WerkerIdTakenError, type ClaimedBuild, type WerkerInfo, type WerkerServerClient } from './protocol.js';
import { runBuild, errorText } from './run-build.js';
import type { RunBuildOptions } from './run-build.js';

export interface RuntimeProvider {
  runtime: Runtime;
  /** Can it run builds right now? (docker: does the engine answer?) Returns a reason when not. */
  health?: () => Promise<{ ok: true } | { ok: false; reason: string }>;
}

export interface WerkerOptions {
  client: WerkerServerClient;
  id?: string;
  name?: string;
  tags?: string[];
  slots?: number;
  version: string;
  runtimes: Record<string, RuntimeProvider>;
  whenUnsupported: 'fail' | 'hand-back';
  spoolPath: RunBuildOptions['spoolPath'];
  spoolIsServerLog?: boolean;
  spoolMaxUnackedBytes?: number;
  workDir: string;
  gitCacheDir?: string;
  cloneDepth?: number;
  /** Used only until the server says its own lease length at registration (which wins). */
  leaseMs?: number;
  stageTimeoutMs?: number;
  killGraceMs?: number;
  heartbeatMs?: number;
  claimWaitMs?: number;
  /** Called after each build (docker: sweep orphaned containers). */
  afterBuild?: () => Promise<void>;
  log?: (msg: string) => void;
  /**
   * The werker cannot go on (the server refused its token, or its id is another token's): it has stopped
   * claiming; the owner should stop it and exit. Without this callback the werker only stops claiming.
   */
  onFatal?: (err: Error) => void;
}

export class Werker {
  readonly id: string;
  readonly name: string;
  private readonly stopClaiming = new AbortController();
  private readonly shutdownBuilds = new AbortController();
  private readonly slots: Promise<void>[] = [];
  private readonly running = new Map<number, ClaimedBuild>();
  private heartbeat: NodeJS.Timeout | undefined;
  private health = new Map<string, string | undefined>();
  private paused = false;
  private leaseMs: number;
  private fatal: Error | undefined;

  constructor(private readonly opts: WerkerOptions) {
    this.id = opts.id ?? randomUUID();
    this.name = opts.name ?? os.hostname();
    this.leaseMs = opts.leaseMs ?? 15_000;
  }

  /** The lease length in use: the server's, once registered. */
  get leaseLengthMs(): number {
    return this.leaseMs;
  }

  info(): WerkerInfo {
    return {
      id: this.id,
      name: this.name,
      tags: this.opts.tags ?? [],
      runtimes: Object.keys(this.opts.runtimes).filter((r) => this.health.get(r) === undefined),
      slots: this.opts.slots ?? 1,
      version: this.opts.version,
    };
  }

  labels(): string[] {
    const info = this.info();
    return [...info.tags.map((t) => `tag:${t}`), ...info.runtimes.map((r) => `runtime:${r}`)];
  }

  isRunning(buildId: number, attempt: number): boolean {
    return this.running.get(buildId)?.lease.attempt === attempt;
  }

  /** Builds running now. */
  current(): number[] {
    return [...this.running.keys()];
  }

  /** Stop taking new builds (running ones go on). Used by benchmarks to measure intake alone. */
  pause(paused: boolean): void {
    this.paused = paused;
  }

  async start(): Promise<void> {
    await this.checkHealth();
    this.leaseMs = (await this.opts.client.register(this.info())).leaseMs;
    const every = this.opts.heartbeatMs ?? 5_000;
    const beat = async () => {
      try {
        await this.checkHealth();
        this.leaseMs = (await this.opts.client.register(this.info())).leaseMs;
      } catch (err) {
        if (err instanceof TokenRefusedError || err instanceof WerkerIdTakenError) return this.giveUp(err);
        this.opts.log?.(`werker ${this.name}: heartbeat failed: ${errorText(err)}`);
      }
      if (!this.stopClaiming.signal.aborted) this.heartbeat = setTimeout(beat, every).unref();
    };
    this.heartbeat = setTimeout(beat, every).unref();
    for (let i = 0; i < (this.opts.slots ?? 1); i++) this.slots.push(this.slotLoop(i));
  }

  /** Graceful stop: no new claims; running builds get `drainMs`, then are stopped and handed back. */
  async stop(drainMs = 10_000): Promise<void> {
    this.stopClaiming.abort();
    if (this.heartbeat) clearTimeout(this.heartbeat);
    const all = Promise.all(this.slots);
    const timer = setTimeout(() => this.shutdownBuilds.abort(), drainMs);
    await all;
    clearTimeout(timer);
    // Say goodbye so `ocelot werkers` shows this werker gone now rather than after the online window. Best
    // effort: a werker stopping while the server is down (or with a refused token) must still stop.
    if (!this.fatal) {
      await this.opts.client.register(this.info(), 'offline').catch((err) => this.opts.log?.(`werker ${this.name}: could not sign off: ${errorText(err)}`));
    }
  }

  /** Cut a drain short (a second SIGTERM): running builds are stopped and handed back now. */
  handBackNow(): void {
    this.shutdownBuilds.abort();
  }

  /** Why the werker gave up on its own (token refused, or its id is another token's), if it did. */
  get fatalError(): Error | undefined {
    return this.fatal;
  }

  /**
   * A revoked token, or an id registered with another live token: stop claiming at once (retrying would hammer the
   * server forever) and tell the owner.
   */
  private giveUp(err: Error): void {
    if (this.fatal) return;
    this.fatal = err;
    this.opts.log?.(`werker ${this.name}: ${err.message}; not claiming any more builds`);
    this.stopClaiming.abort();
    if (this.heartbeat) clearTimeout(this.heartbeat);
    this.opts.onFatal?.(err);
  }

  private async checkHealth(): Promise<void> {
    for (const [name, provider] of Object.entries(this.opts.runtimes)) {
      if (!provider.health) continue;
      const before = this.health.get(name);
      const result = await provider.health().catch((err) => ({ ok: false as const, reason: errorText(err) }));
      const now = result.ok ? undefined : result.reason;
      this.health.set(name, now);
      if (before !== now) {
        this.opts.log?.(
          now ? `werker ${this.name}: not claiming ${name} builds: ${now}` : `werker ${this.name}: ${name} runtime available`,
        );
      }
    }
  }

  private async slotLoop(slot: number): Promise<void> {
    const stop = this.stopClaiming.signal;
    while (!stop.aborted) {
      if (this.paused) {
        await sleep(50, stop);
        continue;
      }
      let claim: ClaimedBuild | null = null;
      try {
        claim = await this.opts.client.claim({ ...this.info() }, this.opts.claimWaitMs ?? 30_000, stop);
      } catch (err) {
        if (stop.aborted) break;
        if (err instanceof TokenRefusedError || err instanceof WerkerIdTakenError) {
          this.giveUp(err);
          break;
        }
        this.opts.log?.(`werker ${this.name} slot ${slot}: claim failed: ${errorText(err)}; retrying`);
        await sleep(1_000, stop);
        continue;
      }
      if (!claim) continue;
      this.running.set(claim.buildId, claim);
      try {
        await runBuild(claim, {
          client: this.opts.client,
          werkerId: this.id,
          werkerName: this.name,
          labels: this.labels(),
          runtimes: Object.fromEntries(Object.entries(this.opts.runtimes).map(([k, v]) => [k, v.runtime])),
          runtimeUnavailable: (name) =>
            this.health.get(name) ?? (this.opts.runtimes[name] ? undefined : `werker ${this.name} is not configured for it`),
          whenUnsupported: this.opts.whenUnsupported,
          spoolPath: this.opts.spoolPath,
          spoolIsServerLog: this.opts.spoolIsServerLog,
          spoolMaxUnackedBytes: this.opts.spoolMaxUnackedBytes,
          workDir: this.opts.workDir,
          gitCacheDir: this.opts.gitCacheDir,
          cloneDepth: this.opts.cloneDepth ?? 50,
          leaseMs: this.leaseMs,
          stageTimeoutMs: this.opts.stageTimeoutMs ?? 60 * 60_000,
          killGraceMs: this.opts.killGraceMs ?? 10_000,
          shutdown: this.shutdownBuilds.signal,
          log: this.opts.log,
        });
      } catch (err) {
        this.opts.log?.(`werker ${this.name}: build ${claim.buildId} crashed the runner: ${errorText(err)}`);
      } finally {
        this.running.delete(claim.buildId);
      }
      await this.opts.afterBuild?.().catch((err) => this.opts.log?.(`werker ${this.name}: after-build cleanup: ${errorText(err)}`));
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
