/**
 * A {@link KeyMatch} (literal prefix + glob) in SQL terms, for `keys()` and `deletePattern()`:
 *
 * - a key range `[lower, upper)` from the literal head (the prefix plus the glob's leading literal
 *   text), which the primary key (`COLLATE "C"`, byte order) serves even from a generic plan;
 * - a `LIKE` pattern: literal text with `\`, `%` and `_` escaped, `*` → `%`, `?` → `_`;
 * - a PostgreSQL regular expression, only when the glob has a class (`[abc]`, `[!a-z]`), which
 *   `LIKE` cannot say: the `LIKE` pattern (with `_` for the class) narrows the rows and the
 *   regular expression decides. Without a class it is `null` and costs nothing.
 */
import { parseGlob, type GlobToken } from '../../core/glob.js';
import type { KeyMatch } from '../../core/store.js';

/** The SQL parameters of a key match. */
export interface SqlKeyMatch {
  /** Keys are `>=` this. */
  readonly lower: string;
  /** Keys are `<` this; `null` when the range has no end (an empty literal head). */
  readonly upper: string | null;
  readonly like: string;
  /** An anchored PostgreSQL (ARE) regular expression, or `null` when `like` says it all. */
  readonly regex: string | null;
  /** The glob can match nothing at all (an empty class such as `[z-a]`): skip the query. */
  readonly matchesNothing: boolean;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}

// In an ARE, `\` before a non-alphanumeric character makes it literal; before a letter or digit
// it would start an escape, so only ASCII punctuation is escaped.
function escapeRegex(text: string): string {
  return text.replace(/[!-/:-@[-`{-~]/g, '\\$&');
}

function escapeClassMember(char: string): string {
  return /[\\\]^[-]/.test(char) ? `\\${char}` : char;
}

/** The ARE form of a class, or `undefined` if it matches no character at all. */
function classRegex(token: Extract<GlobToken, { type: 'class' }>): string | undefined {
  const body = token.items
    .map((item) => {
      if (typeof item === 'string') return escapeClassMember(item);
      // A reversed range matches nothing, as in fnmatch and core/glob.ts (PostgreSQL would reject it).
      if (item[0].codePointAt(0)! > item[1].codePointAt(0)!) return '';
      return `${escapeClassMember(item[0])}-${escapeClassMember(item[1])}`;
    })
    .join('');
  if (body === '') return token.negated ? '.' : undefined;
  return `[${token.negated ? '^' : ''}${body}]`;
}

/**
 * The smallest string above every string that starts with `prefix`, in code point order (which is
 * the byte order of UTF-8, that is `COLLATE "C"`), or `null` if there is none.
 */
export function prefixUpperBound(prefix: string): string | null {
  const points = [...prefix].map((char) => char.codePointAt(0)!);
  while (points.length > 0) {
    let last = points.pop()!;
    if (last === 0x10ffff) continue;
    last += 1;
    // Surrogates are not characters; the next one after U+D7FF is U+E000.
    if (last >= 0xd800 && last <= 0xdfff) last = 0xe000;
    points.push(last);
    return String.fromCodePoint(...points);
  }
  return null;
}

/** Translates a key match for the SQL statements. */
export function toSqlKeyMatch(match: KeyMatch): SqlKeyMatch {
  const tokens = parseGlob(match.pattern);
  let head = match.prefix;
  let index = 0;
  if (tokens[0]?.type === 'literal') {
    head += tokens[0].text;
    index = 1;
  }
  let like = escapeLike(head);
  let regex = `^${escapeRegex(head)}`;
  let hasClass = false;
  let matchesNothing = false;
  for (const token of tokens.slice(index)) {
    switch (token.type) {
      case 'literal':
        like += escapeLike(token.text);
        regex += escapeRegex(token.text);
        break;
      case 'star':
        like += '%';
        regex += '.*';
        break;
      case 'any':
        like += '_';
        regex += '.';
        break;
      case 'class': {
        const source = classRegex(token);
        if (source === undefined) matchesNothing = true;
        like += '_';
        regex += source ?? '';
        hasClass = true;
        break;
      }
    }
  }
  return {
    lower: head,
    upper: prefixUpperBound(head),
    like,
    regex: hasClass ? `${regex}$` : null,
    matchesNothing,
  };
}
