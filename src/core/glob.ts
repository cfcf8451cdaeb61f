/**
 * The glob dialect of `keys()` and `deletePattern()`, parsed once so that every backend can
 * translate it into its own (a RegExp here, Redis `MATCH`, SQLite `GLOB`, SQL `LIKE`).
 *
 * Syntax: `*` any run of characters (including none and `:`), `?` one character, `[abc]`,
 * `[a-z]`, `[!abc]` / `[^abc]` one character in / not in the set, `\x` the character `x` itself.
 * An unclosed `[` is a literal `[`.
 */

/** One piece of a parsed glob. */
export type GlobToken =
  | { type: 'literal'; text: string }
  | { type: 'star' }
  | { type: 'any' }
  | { type: 'class'; negated: boolean; items: Array<string | [from: string, to: string]> };

/** Parses a glob into tokens; adjacent literal characters are merged into one token. */
export function parseGlob(pattern: string): GlobToken[] {
  const tokens: GlobToken[] = [];
  const pushLiteral = (text: string) => {
    const last = tokens[tokens.length - 1];
    if (last?.type === 'literal') last.text += text;
    else tokens.push({ type: 'literal', text });
  };
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '\\' && i + 1 < chars.length) {
      pushLiteral(chars[++i]!);
    } else if (ch === '*') {
      if (tokens[tokens.length - 1]?.type !== 'star') tokens.push({ type: 'star' });
    } else if (ch === '?') {
      tokens.push({ type: 'any' });
    } else if (ch === '[') {
      const parsed = parseClass(chars, i);
      if (parsed) {
        tokens.push(parsed.token);
        i = parsed.end;
      } else {
        pushLiteral('[');
      }
    } else {
      pushLiteral(ch);
    }
  }
  return tokens;
}

function parseClass(chars: string[], start: number): { token: GlobToken; end: number } | undefined {
  let i = start + 1;
  let negated = false;
  if (chars[i] === '!' || chars[i] === '^') {
    negated = true;
    i++;
  }
  const items: Array<string | [string, string]> = [];
  // A `]` right after the opening bracket is a member, as in POSIX globs.
  let first = true;
  for (; i < chars.length; i++) {
    let ch = chars[i]!;
    if (ch === ']' && !first) return { token: { type: 'class', negated, items }, end: i };
    first = false;
    if (ch === '\\' && i + 1 < chars.length) ch = chars[++i]!;
    if (chars[i + 1] === '-' && chars[i + 2] !== undefined && chars[i + 2] !== ']') {
      let to = chars[i + 2]!;
      i += 2;
      if (to === '\\' && i + 1 < chars.length) to = chars[++i]!;
      items.push([ch, to]);
    } else {
      items.push(ch);
    }
  }
  return undefined;
}

const REGEXP_SPECIAL = /[\\^$.*+?()[\]{}|/]/g;
const CLASS_SPECIAL = /[\\^\][-]/g;

function escapeRegExp(text: string): string {
  return text.replace(REGEXP_SPECIAL, '\\$&');
}

/** Escapes a character for use inside a RegExp character class (where `-` is special too). */
function escapeClassMember(text: string): string {
  return text.replace(CLASS_SPECIAL, '\\$&');
}

/** A RegExp source (without anchors) equivalent to the tokens. */
export function globTokensToRegExpSource(tokens: GlobToken[]): string {
  return tokens
    .map((token) => {
      switch (token.type) {
        case 'literal':
          return escapeRegExp(token.text);
        case 'star':
          return '[\\s\\S]*';
        case 'any':
          return '[\\s\\S]';
        case 'class': {
          const body = token.items
            .map((item) => {
              if (typeof item === 'string') return escapeClassMember(item);
              // A reversed range (`[z-a]`) matches nothing, as in fnmatch, instead of failing.
              if (item[0].codePointAt(0)! > item[1].codePointAt(0)!) return '';
              return `${escapeClassMember(item[0])}-${escapeClassMember(item[1])}`;
            })
            .join('');
          if (body === '') return token.negated ? '[\\s\\S]' : '(?!)';
          return `[${token.negated ? '^' : ''}${body}]`;
        }
      }
    })
    .join('');
}

/**
 * A predicate telling whether a whole string matches `literalPrefix` followed by the glob.
 * The prefix is compared literally: glob characters in it have no special meaning.
 */
export function makeKeyMatcher(literalPrefix: string, pattern: string): (key: string) => boolean {
  const tokens = parseGlob(pattern);
  if (tokens.length === 1 && tokens[0]!.type === 'star') {
    return (key) => key.startsWith(literalPrefix);
  }
  // The prefix is compared as text, not compiled into the RegExp: a long one would make it too large.
  const regexp = new RegExp(`^${globTokensToRegExpSource(tokens)}$`, 'u');
  const length = literalPrefix.length;
  return (key) => key.startsWith(literalPrefix) && regexp.test(key.slice(length));
}

/** Escapes a literal string so that it matches only itself when used inside a glob. */
export function escapeGlob(text: string): string {
  return text.replace(/[\\*?[\]]/g, '\\$&');
}
