/**
 * What `ocelot werker` says when it cannot get going, in one line an operator can act on, and the exit status a
 * supervisor sees (docs/deployment.md): 3 the token was refused (waiting will not help: a new token is needed),
 * 2 `--server` is not an Ocelot server's URL, 1 no server answered there within the retry budget. Never the token;
 * a password in the server URL is masked.
 */
import { ServerUnreachableError, WerkerProtocolError, shownServerUrl } from '../werker/http-client.js';
import { TokenRefusedError, WERKER_API } from '../werker/protocol.js';

export interface WerkerStartFailure {
  message: string;
  exitCode: 1 | 2 | 3;
}

/** The exit status of a werker whose token the server refused, at start or later. */
export const TOKEN_REFUSED_EXIT = 3;

/** The line printed when the server refuses the token, at start-up or when it is revoked later. */
export function tokenRefusedMessage(err: Error): string {
  return `${err.message}. Ask an admin for a new token (ocelot werker-token create <name>) and restart the werker with it.`;
}

/**
 * `err` from starting the werker (its first registration) as a failure to print, or undefined when it is none of
 * the expected ones (then it is a bug, and its stack is worth seeing).
 */
export function explainWerkerStartError(err: unknown, server: string): WerkerStartFailure | undefined {
  const shown = shownServerUrl(server.replace(/\/+$/, ''));
  if (err instanceof TokenRefusedError) return { message: tokenRefusedMessage(err), exitCode: TOKEN_REFUSED_EXIT };
  if (err instanceof WerkerProtocolError) {
    if (err.fromOcelot) return { message: `the server at ${shown} refused to register this werker: ${err.message}`, exitCode: 1 };
    return {
      message:
        `${shown} does not answer as an Ocelot server: POST ${registerPath(server)} answered ${err.answer || err.status}. ` +
        `--server must be the URL the Ocelot server (or the proxy in front of it) is reached at, like https://ci.example.com`,
      exitCode: 2,
    };
  }
  if (err instanceof ServerUnreachableError) {
    return {
      message: `gave up registering with ${err.server} after ${Math.round(err.forMs / 1000)} s and ${err.tries} tries (last: ${err.lastFailure}); check --server and that the server is up`,
      exitCode: 1,
    };
  }
  return undefined;
}

function registerPath(server: string): string {
  try {
    return new URL(`${server.replace(/\/+$/, '')}${WERKER_API}/register`).pathname;
  } catch {
    return `${WERKER_API}/register`;
  }
}
