/**
 * Backend tests that need a running service (Redis, PostgreSQL) call `describeWithService`. When the
 * service is not reachable they are skipped with a visible message on a developer machine, and
 * fail in CI, where `SKYCACHE_REQUIRE_SERVICES=1` is set.
 */
import { describe, it } from 'vitest';

/** Whether a missing service fails the run (CI) instead of skipping. */
export const servicesRequired = process.env.SKYCACHE_REQUIRE_SERVICES === '1';

/**
 * Checks a service once; `probe` should connect, do one round trip, close, and throw if any of it
 * fails. @returns `undefined` if reachable, else why not
 */
export async function probeService(
  probe: () => Promise<void>,
  timeoutMs = 3000,
): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `describe(name, body)` when `unavailable` is `undefined`; otherwise a visible skip (laptop) or a
 * failing test (CI) naming the service and the reason.
 */
export function describeWithService(
  service: string,
  unavailable: string | undefined,
  name: string,
  body: () => void,
): void {
  if (unavailable === undefined) {
    describe(name, body);
    return;
  }
  if (servicesRequired) {
    describe(name, () => {
      it(`needs ${service}`, () => {
        throw new Error(
          `${service} is not reachable (${unavailable}) and SKYCACHE_REQUIRE_SERVICES=1`,
        );
      });
    });
    return;
  }
  console.warn(`[skycache tests] skipping "${name}": ${service} is not reachable (${unavailable})`);
  // Skipped because the service is down on this machine; CI (SKYCACHE_REQUIRE_SERVICES=1) fails instead.
  describe.skip(name, body);
}
