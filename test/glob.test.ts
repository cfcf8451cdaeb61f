import { describe, expect, it } from 'vitest';
import { escapeGlob, makeKeyMatcher, parseGlob } from '../src/core/glob.js';
import { createCache } from '../src/core/registry.js';

/** Which of `keys` the glob matches (no prefix). */
function matching(pattern: string, keys: readonly string[], prefix = ''): string[] {
  const matches = makeKeyMatcher(prefix, pattern);
  return keys.filter((key) => matches(key));
}

describe('parseGlob', () => {
  it('merges adjacent literal characters into one token', () => {
    expect(parseGlob('user:42')).toEqual([{ type: 'literal', text: 'user:42' }]);
  });

  it('parses *, ? and literals in order', () => {
    expect(parseGlob('a*b?c')).toEqual([
      { type: 'literal', text: 'a' },
      { type: 'star' },
      { type: 'literal', text: 'b' },
      { type: 'any' },
      { type: 'literal', text: 'c' },
    ]);
  });

  it('collapses consecutive stars into one, but not consecutive ?', () => {
    expect(parseGlob('a**b')).toEqual([
      { type: 'literal', text: 'a' },
      { type: 'star' },
      { type: 'literal', text: 'b' },
    ]);
    expect(parseGlob('??')).toEqual([{ type: 'any' }, { type: 'any' }]);
  });

  it('parses classes with members and ranges', () => {
    expect(parseGlob('[abc]')).toEqual([{ type: 'class', negated: false, items: ['a', 'b', 'c'] }]);
    expect(parseGlob('[a-z0-9_]')).toEqual([
      {
        type: 'class',
        negated: false,
        items: [['a', 'z'], ['0', '9'], '_'],
      },
    ]);
  });

  it('parses [!..] and [^..] as negated classes', () => {
    expect(parseGlob('[!ab]')).toEqual([{ type: 'class', negated: true, items: ['a', 'b'] }]);
    expect(parseGlob('[^a-c]')).toEqual([{ type: 'class', negated: true, items: [['a', 'c']] }]);
  });

  it('a ] right after [ (or [! / [^) is a member', () => {
    expect(parseGlob('[]a]')).toEqual([{ type: 'class', negated: false, items: [']', 'a'] }]);
    expect(parseGlob('[!]a]')).toEqual([{ type: 'class', negated: true, items: [']', 'a'] }]);
    expect(parseGlob('[^]]')).toEqual([{ type: 'class', negated: true, items: [']'] }]);
  });

  it('a - at the start or end of a class is a member', () => {
    expect(parseGlob('[-a]')).toEqual([{ type: 'class', negated: false, items: ['-', 'a'] }]);
    expect(parseGlob('[a-]')).toEqual([{ type: 'class', negated: false, items: ['a', '-'] }]);
  });

  it('a backslash makes the next character literal, outside and inside classes', () => {
    expect(parseGlob('a\\*b\\?c\\[d\\\\')).toEqual([{ type: 'literal', text: 'a*b?c[d\\' }]);
    expect(parseGlob('[\\]x]')).toEqual([{ type: 'class', negated: false, items: [']', 'x'] }]);
    expect(parseGlob('[a\\-z]')).toEqual([
      { type: 'class', negated: false, items: ['a', '-', 'z'] },
    ]);
  });

  it('a trailing backslash is a literal backslash', () => {
    expect(parseGlob('ab\\')).toEqual([{ type: 'literal', text: 'ab\\' }]);
  });

  it('an unclosed [ is a literal [', () => {
    expect(parseGlob('a[bc')).toEqual([{ type: 'literal', text: 'a[bc' }]);
    expect(parseGlob('[')).toEqual([{ type: 'literal', text: '[' }]);
    expect(parseGlob('[]')).toEqual([{ type: 'literal', text: '[]' }]);
    expect(parseGlob('[!')).toEqual([{ type: 'literal', text: '[!' }]);
    expect(parseGlob('x[*')).toEqual([{ type: 'literal', text: 'x[' }, { type: 'star' }]);
  });

  it('treats a surrogate pair as one character', () => {
    expect(parseGlob('😀?')).toEqual([{ type: 'literal', text: '😀' }, { type: 'any' }]);
    expect(parseGlob('[😀é]')).toEqual([{ type: 'class', negated: false, items: ['😀', 'é'] }]);
  });

  it('the empty pattern has no tokens', () => {
    expect(parseGlob('')).toEqual([]);
  });
});

describe('makeKeyMatcher', () => {
  const keys = ['user:1', 'user:12', 'user:1:profile', 'user:', 'users:1', 'session:1', 'user:a'];

  it('* matches any run of characters, none and : included', () => {
    expect(matching('user:*', keys)).toEqual([
      'user:1',
      'user:12',
      'user:1:profile',
      'user:',
      'user:a',
    ]);
    expect(matching('*:1', keys)).toEqual(['user:1', 'users:1', 'session:1']);
    expect(matching('*', keys)).toEqual(keys);
    expect(matching('user:*:profile', keys)).toEqual(['user:1:profile']);
  });

  it('matches the whole key, not a substring', () => {
    expect(matching('user:1', keys)).toEqual(['user:1']);
    expect(matching('ser:1', keys)).toEqual([]);
  });

  it('? matches exactly one character, : included', () => {
    expect(matching('user:?', keys)).toEqual(['user:1', 'user:a']);
    expect(matching('user?1', keys)).toEqual(['user:1']);
    expect(matching('user:??', keys)).toEqual(['user:12']);
  });

  it('classes, ranges and negation match one character', () => {
    expect(matching('user:[1a]', keys)).toEqual(['user:1', 'user:a']);
    expect(matching('user:[0-9]', keys)).toEqual(['user:1']);
    expect(matching('user:[!0-9]', keys)).toEqual(['user:a']);
    expect(matching('user:[^0-9]', keys)).toEqual(['user:a']);
    expect(matching('user:[a-z0-9][0-9]', keys)).toEqual(['user:12']);
  });

  it('a ] first in a class is a member', () => {
    expect(matching('x[]y]', ['x]', 'xy', 'xz', 'x]y]'])).toEqual(['x]', 'xy']);
    expect(matching('x[!]]', ['x]', 'xy'])).toEqual(['xy']);
  });

  it('backslash escapes match the character itself', () => {
    const specials = ['a*b', 'axb', 'a?b', 'a[b', 'a\\b', 'ab'];
    expect(matching('a\\*b', specials)).toEqual(['a*b']);
    expect(matching('a\\?b', specials)).toEqual(['a?b']);
    expect(matching('a\\[b', specials)).toEqual(['a[b']);
    expect(matching('a\\\\b', specials)).toEqual(['a\\b']);
    expect(matching('[\\]]', [']', '\\'])).toEqual([']']);
  });

  it('an unclosed [ matches a literal [', () => {
    expect(matching('a[b*', ['a[bc', 'ab', 'a[b'])).toEqual(['a[bc', 'a[b']);
  });

  it('RegExp special characters are literal', () => {
    expect(matching('a.b', ['a.b', 'axb'])).toEqual(['a.b']);
    expect(matching('a+', ['a+', 'aa'])).toEqual(['a+']);
    expect(matching('(a|b)', ['(a|b)', 'a', 'b'])).toEqual(['(a|b)']);
    expect(matching('^x$', ['^x$', 'x'])).toEqual(['^x$']);
    expect(matching('a{2}', ['a{2}', 'aa'])).toEqual(['a{2}']);
    expect(matching('p/q', ['p/q'])).toEqual(['p/q']);
    expect(matching('[.+]', ['.', '+', 'x'])).toEqual(['.', '+']);
    expect(matching('[$^]x', ['$x', '^x', 'x'])).toEqual(['$x', '^x']);
  });

  it('a literal - in the pattern matches itself (SPEC: keys are any non-empty string)', () => {
    // Hyphens are everywhere in real keys: `user-42`, `2024-01-01`, `my-app` prefixes.
    expect(matching('user-*', ['user-1', 'user_1', 'user-'])).toEqual(['user-1', 'user-']);
    expect(matching('2024-01-??', ['2024-01-31', '2024-02-01'])).toEqual(['2024-01-31']);
  });

  it('a literal - in the prefix matches itself, with any pattern', () => {
    const matches = makeKeyMatcher('my-app:1:', 'a*');
    expect(matches('my-app:1:ab')).toBe(true);
    expect(matches('my-app:1:b')).toBe(false);
  });

  it('a - inside a class as a member or escaped', () => {
    expect(matching('[-_]', ['-', '_', 'a'])).toEqual(['-', '_']);
    expect(matching('[a\\-z]', ['a', '-', 'z', 'm'])).toEqual(['a', '-', 'z']);
  });

  it('Unicode: ? and classes see code points, not UTF-16 halves', () => {
    expect(matching('?', ['😀', 'é', 'ab'])).toEqual(['😀', 'é']);
    expect(matching('k:[😀é]', ['k:😀', 'k:é', 'k:e'])).toEqual(['k:😀', 'k:é']);
    expect(matching('日本*', ['日本語', '日本', '中国'])).toEqual(['日本語', '日本']);
    expect(matching('[!😀]', ['😀', 'x'])).toEqual(['x']);
  });

  it('* and ? cross newlines', () => {
    expect(matching('a*b', ['a\nb'])).toEqual(['a\nb']);
    expect(matching('a?b', ['a\nb'])).toEqual(['a\nb']);
  });

  describe('literal prefix', () => {
    it('is required and compared literally, glob characters included (fast path *)', () => {
      const matches = makeKeyMatcher('a*b?:', '*');
      expect(matches('a*b?:x')).toBe(true);
      expect(matches('a*b?:')).toBe(true);
      expect(matches('aXXbY:x')).toBe(false);
      expect(matches('x')).toBe(false);
    });

    it('is compared literally with a non-trivial pattern too', () => {
      const matches = makeKeyMatcher('p[1].(x):', 'k?');
      expect(matches('p[1].(x):k1')).toBe(true);
      expect(matches('p1Z(x):k1')).toBe(false);
      expect(matches('p[1].(x):k12')).toBe(false);
    });

    it('with a pattern of glob characters escaped', () => {
      const matches = makeKeyMatcher('app:1:', '\\*');
      expect(matches('app:1:*')).toBe(true);
      expect(matches('app:1:x')).toBe(false);
    });

    it('an empty pattern matches the prefix alone', () => {
      const matches = makeKeyMatcher('app:', '');
      expect(matches('app:')).toBe(true);
      expect(matches('app:x')).toBe(false);
    });
  });
});

describe('escapeGlob', () => {
  const samples = [
    'plain',
    'a*b',
    'a?b',
    '[abc]',
    '[!x]',
    'back\\slash',
    'trailing\\',
    ']',
    '**',
    'a.b+c(d)|e^f$g{h}',
    'emoji 😀 and 日本語',
    'colon:separated:key',
  ];

  it.each(samples)('%j round-trips: one literal token equal to the input', (text) => {
    expect(parseGlob(escapeGlob(text))).toEqual([{ type: 'literal', text }]);
  });

  it.each(samples)('%j escaped matches itself and nothing else', (text) => {
    const matches = makeKeyMatcher('', escapeGlob(text));
    expect(matches(text)).toBe(true);
    expect(matches(`${text}x`)).toBe(false);
    expect(matches(`x${text}`)).toBe(false);
  });

  it('an escaped string with a hyphen matches itself', () => {
    expect(makeKeyMatcher('', escapeGlob('my-key*'))('my-key*')).toBe(true);
  });

  it('escapes exactly the glob characters', () => {
    expect(escapeGlob('a*?[]\\b')).toBe('a\\*\\?\\[\\]\\\\b');
    expect(escapeGlob('no.special:chars')).toBe('no.special:chars');
  });

  it('an escaped prefix followed by a glob keeps its meaning', () => {
    const matches = makeKeyMatcher('', `${escapeGlob('a*[b]')}*`);
    expect(matches('a*[b]')).toBe(true);
    expect(matches('a*[b]tail')).toBe(true);
    expect(matches('aXb')).toBe(false);
  });
});

describe('hyphens through the Cache API', () => {
  it('keys() and deletePattern() work with a hyphen in the pattern and in the keyPrefix', async () => {
    const cache = createCache({
      backend: 'memory',
      location: `glob-hyphen-${Date.now()}-${Math.random()}`,
      keyPrefix: 'my-app',
    });
    await cache.setMany({ 'user-1': 1, 'user-2': 2, other: 3 });
    const keys: string[] = [];
    for await (const key of cache.keys('user-*')) keys.push(key);
    expect(keys.sort()).toEqual(['user-1', 'user-2']);
    expect(await cache.deletePattern('user-?')).toBe(2);
    expect(await cache.get('other')).toBe(3);
  });
});
