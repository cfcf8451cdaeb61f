/**
 * Secrets never reach messages or logs: the one place that hides them.
 */

// A scheme, any slashes (also a mistyped `redis:/`), then user information up to the *last* `@`
// of the authority, as URL parsers read it, so a password containing `@` is hidden whole.
// Spaces are allowed in it: drivers accept `postgres://app:my secret@host/db` unencoded.
const USERINFO = /([a-z][a-z0-9+.-]*:\/*)([^/?#]*)@/gi;
const PASSWORD_PARAMETER = /([?&](?:password|pass|pwd|secret|token)=)[^&#\s]*/gi;

/** `redis://user:pw@h/0?password=x` → `redis://user:***@h/0?password=***`. */
export function redactSecrets(text: string): string {
  return text
    .replace(USERINFO, (match, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      return colon === -1 ? match : `${scheme}${userinfo.slice(0, colon)}:***@`;
    })
    .replace(PASSWORD_PARAMETER, '$1***');
}
