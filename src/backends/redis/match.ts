/**
 * `KeyMatch` → a Redis `SCAN … MATCH` pattern.
 *
 * Redis matches bytes, skycache globs match characters, so the pattern sent is a *superset*: exact
 * where bytes and characters agree (literals, `*`, classes of ASCII characters) and looser
 * elsewhere (`?` and other classes become "one or more bytes"). `SCAN` results are then filtered
 * with the exact matcher of `core/glob.ts`, so the answer is exact either way.
 */
import { makeKeyMatcher, parseGlob } from '../../core/glob.js';
import type { KeyMatch } from '../../core/store.js';

/** Escapes text so that Redis matches it literally (outside a `[…]` class). */
function escapeLiteral(text: string): string {
  return text.replace(/[\\*?[\]]/g, '\\$&');
}

/** Escapes one character for use inside a Redis `[…]` class. */
function escapeClassMember(ch: string): string {
  return /[\\\]^-]/.test(ch) ? `\\${ch}` : ch;
}

const isAscii = (ch: string) => ch.charCodeAt(0) < 0x80 && ch.length === 1;

/** The Redis pattern for `match`, and the exact predicate its results must pass. */
export function toRedisMatch(match: KeyMatch): {
  pattern: string;
  matches: (key: string) => boolean;
} {
  let pattern = escapeLiteral(match.prefix);
  for (const token of parseGlob(match.pattern)) {
    switch (token.type) {
      case 'literal':
        pattern += escapeLiteral(token.text);
        break;
      case 'star':
        pattern += '*';
        break;
      case 'any':
        // One character is one to four bytes.
        pattern += '?*';
        break;
      case 'class': {
        const ascii =
          !token.negated &&
          token.items.length > 0 &&
          token.items.every((item) =>
            typeof item === 'string' ? isAscii(item) : isAscii(item[0]) && isAscii(item[1]),
          );
        pattern += ascii
          ? `[${token.items
              .map((item) =>
                typeof item === 'string'
                  ? escapeClassMember(item)
                  : `${escapeClassMember(item[0])}-${escapeClassMember(item[1])}`,
              )
              .join('')}]`
          : '?*';
        break;
      }
    }
  }
  return { pattern, matches: makeKeyMatcher(match.prefix, match.pattern) };
}
