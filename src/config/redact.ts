/**
 * Secrets never reach messages or logs: the one place that hides them.
 */

const USERINFO_PASSWORD = /(\/\/[^/?#@:]*:)[^/?#@]*@/g;
const PASSWORD_PARAMETER = /([?&](?:password|pass|pwd|secret|token)=)[^&#]*/gi;

/** `redis://user:pw@h/0?password=x` → `redis://user:***@h/0?password=***`. */
export function redactSecrets(text: string): string {
  return text.replace(USERINFO_PASSWORD, '$1***@').replace(PASSWORD_PARAMETER, '$1***');
}
