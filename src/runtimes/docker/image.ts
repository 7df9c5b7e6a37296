/**
 * Makes the build image available according to the pull policy, writing pull progress into the setup log.
 * The pull happens here, on the werker, at build time: never at validation time on the webhook host (the original
 * did that, so a Docker hiccup there failed every build).
 */
import type Docker from 'dockerode';
import { RuntimeSetupError, type StageOutput } from '../runtime.js';
import { engineMessage, engineStatus } from './errors.js';
import { normalizeImageRef } from './image-ref.js';
import type { PullPolicy } from './options.js';

async function imageExists(docker: Docker, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch (err) {
    if (engineStatus(err) === 404) return false;
    throw new RuntimeSetupError(`cannot inspect image ${ref}: ${engineMessage(err)}`);
  }
}

interface PullEvent {
  status?: string;
  id?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Turns the engine's chatty progress events into a readable log: one line per layer state change, not one per
 * progress tick (a large pull would otherwise write thousands of progress-bar lines).
 */
function progressWriter(output: StageOutput): (ev: PullEvent) => void {
  const lastStatus = new Map<string, string>();
  return (ev) => {
    if (!ev.status) return;
    if (ev.id) {
      if (lastStatus.get(ev.id) === ev.status) return;
      lastStatus.set(ev.id, ev.status);
      output.write(`${ev.id}: ${ev.status}\n`);
    } else {
      output.write(`${ev.status}\n`);
    }
  };
}

async function pull(docker: Docker, ref: string, output: StageOutput, signal: AbortSignal): Promise<void> {
  output.write(`pulling image ${ref}\n`);
  const stream = await docker.pull(ref, { abortSignal: signal });
  const onEvent = progressWriter(output);
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (ev: PullEvent) => onEvent(ev),
    );
  });
}

/** Resolves when `image` is present locally; throws RuntimeSetupError with a user-facing reason otherwise. */
export async function ensureImage(
  docker: Docker,
  image: string,
  policy: PullPolicy,
  output: StageOutput,
  signal: AbortSignal,
): Promise<string> {
  const ref = normalizeImageRef(image);
  if (policy !== 'always' && (await imageExists(docker, ref))) {
    output.write(`using local image ${ref}\n`);
    return ref;
  }
  if (policy === 'never') {
    throw new RuntimeSetupError(`image ${ref} not found locally and pull policy is "never"`);
  }
  try {
    await pull(docker, ref, output, signal);
  } catch (err) {
    if (signal.aborted) throw new RuntimeSetupError(`cancelled while pulling image ${ref}`);
    const why = engineMessage(err);
    // With policy "always" a registry outage should not fail a build whose image is already here.
    if (policy === 'always' && (await imageExists(docker, ref))) {
      output.write(`pull of ${ref} failed (${why}); using the local copy\n`);
      return ref;
    }
    throw new RuntimeSetupError(`image ${ref} not found locally and pull failed: ${why}`);
  }
  if (!(await imageExists(docker, ref))) {
    throw new RuntimeSetupError(`image ${ref} not found locally and pull failed: the engine reported no image`);
  }
  return ref;
}
