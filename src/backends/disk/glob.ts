/**
 * Key matching in SQL: a `KeyMatch` (literal prefix + glob) becomes an index range on the key
 * (from the literal part) plus an SQLite `GLOB` for the rest.
 *
 * SQLite's GLOB has no escape character: a literal `*`, `?` or `[` is written as a one-character
 * class (`[*]`, `[?]`, `[[]`), and inside a class `]` must come first, `-` must not sit between two
 * members, and `^` must not open it.
 */
import { parseGlob, type GlobToken } from '../../core/glob.js';
import type { KeyMatch } from '../../core/store.js';

/** Which keys a `KeyMatch` covers, in SQL terms. */
export interface SqlKeyFilter {
  /** Keys start with this literal text (`''` for any key): `key >= lower`. */
  readonly lower: string;
  /** Exclusive upper bound of the keys starting with `lower`; `undefined` when unbounded. */
  readonly upper: string | undefined;
  /** A GLOB the whole key must also match; `undefined` when the range alone decides. */
  readonly glob: string | undefined;
  /** Nothing can match (an empty character class). */
  readonly matchesNothing: boolean;
}

const GLOB_SPECIAL = /[*?[]/g;

/** Escapes literal text for SQLite GLOB. */
export function escapeSqliteGlob(text: string): string {
  return text.replace(GLOB_SPECIAL, '[$&]');
}

/**
 * The smallest string greater than every string that starts with `prefix`, in SQLite's BINARY
 * order (UTF-8 bytes, which is code point order), or `undefined` if there is none.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const codePoints = [...prefix].map((ch) => ch.codePointAt(0)!);
  while (codePoints.length > 0) {
    let last = codePoints.pop()! + 1;
    if (last >= 0xd800 && last <= 0xdfff) last = 0xe000;
    if (last <= 0x10ffff) return String.fromCodePoint(...codePoints, last);
  }
  return undefined;
}

const CLASS_SPECIAL = new Set([']', '-', '^']);
const codePoint = (ch: string) => ch.codePointAt(0)!;
const step = (ch: string, by: number) => String.fromCodePoint(codePoint(ch) + by);

/** One `[...]` class as SQLite GLOB, or `undefined` if it can match nothing. */
function classToGlob(token: Extract<GlobToken, { type: 'class' }>): string | undefined {
  const singles = new Set<string>();
  const ranges: Array<[string, string]> = [];
  for (const item of token.items) {
    if (typeof item === 'string') {
      singles.add(item);
      continue;
    }
    let [from, to] = item;
    if (codePoint(from) > codePoint(to)) continue; // an empty range
    // A range cannot start or end on a character that is special inside a class: peel those
    // off as single members (], ^ and - are neighbours of no other special character).
    while (CLASS_SPECIAL.has(from) && codePoint(from) <= codePoint(to)) {
      singles.add(from);
      from = step(from, 1);
    }
    while (CLASS_SPECIAL.has(to) && codePoint(from) <= codePoint(to)) {
      singles.add(to);
      to = step(to, -1);
    }
    if (codePoint(from) < codePoint(to)) ranges.push([from, to]);
    else if (from === to) singles.add(from);
  }
  if (singles.size === 0 && ranges.length === 0) return token.negated ? '?' : undefined;
  const others = [...singles].filter((ch) => !CLASS_SPECIAL.has(ch));
  const body =
    (singles.has(']') ? ']' : '') +
    (singles.has('-') ? '-' : '') +
    others.join('') +
    ranges.map(([from, to]) => `${from}-${to}`).join('') +
    (singles.has('^') ? '^' : '');
  // A class holding only `^`: outside a class, `^` is an ordinary character.
  if (body === '^' && !token.negated) return '^';
  return `[${token.negated ? '^' : ''}${body}]`;
}

/** The GLOB for parsed tokens, or `undefined` if they can match nothing. */
function tokensToGlob(tokens: readonly GlobToken[]): string | undefined {
  let glob = '';
  for (const token of tokens) {
    switch (token.type) {
      case 'literal':
        glob += escapeSqliteGlob(token.text);
        break;
      case 'star':
        glob += '*';
        break;
      case 'any':
        glob += '?';
        break;
      case 'class': {
        const part = classToGlob(token);
        if (part === undefined) return undefined;
        glob += part;
      }
    }
  }
  return glob;
}

/** Translates a `KeyMatch` into an index range and a GLOB. */
export function toSqlKeyFilter(match: KeyMatch): SqlKeyFilter {
  const tokens = parseGlob(match.pattern);
  // The pattern's own leading literal narrows the range too.
  const head = tokens[0]?.type === 'literal' ? tokens[0].text : '';
  const lower = match.prefix + head;
  const rest = head === '' ? tokens : tokens.slice(1);
  const onlyRange = rest.length === 1 && rest[0]!.type === 'star';
  const exact = rest.length === 0;
  const tail = onlyRange || exact ? '' : tokensToGlob(rest);
  return {
    lower,
    upper: prefixUpperBound(lower),
    glob: onlyRange
      ? undefined
      : exact
        ? escapeSqliteGlob(lower)
        : escapeSqliteGlob(lower) + (tail ?? ''),
    matchesNothing: tail === undefined,
  };
}
