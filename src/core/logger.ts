/**
 * The logging seam: a pino-compatible subset, so a pino (or bunyan-like) logger can be passed as
 * is. skycache logs only problems it swallows (undecodable entries, a failed write after a loader
 * ran); every such problem is also emitted as an `error` event.
 */

/** A pino-compatible logger: `logger.warn({ err, key }, 'message')`. */
export interface Logger {
  warn(object: Record<string, unknown>, message?: string): void;
  error(object: Record<string, unknown>, message?: string): void;
  debug(object: Record<string, unknown>, message?: string): void;
  child?(bindings: Record<string, unknown>): Logger;
}

function format(object: Record<string, unknown>, message: string | undefined): string {
  const { err, ...rest } = object;
  const reason = err instanceof Error ? `: ${err.message}` : '';
  const context = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  return `[skycache] ${message ?? 'warning'}${reason}${context}`;
}

/** The default logger: warnings and errors to stderr, debug dropped. */
export const stderrLogger: Logger = {
  warn: (object, message) => console.warn(format(object, message)),
  error: (object, message) => console.error(format(object, message)),
  debug: () => {},
};

/** A logger that drops everything, for tests and for users who want silence. */
export const silentLogger: Logger = { warn: () => {}, error: () => {}, debug: () => {} };
