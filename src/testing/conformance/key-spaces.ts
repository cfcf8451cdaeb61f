/**
 * Conformance: Versions, patterns (keys, deletePattern), namespaces, hashKeys and keyFunction.
 */
import { describe, expect, it } from 'vitest';
import { KeyNotFoundError } from '../../core/errors.js';
import {
  type SuiteContext,
  sha256hex,
  expectRejects,
  expectTtl,
  collect,
  seed,
  present,
} from './support.js';

// ---------------------------------------------------------------------------------------------
// Versions

export function defineVersionTests(ctx: SuiteContext): void {
  describe('versions', () => {
    it('an entry set with version 2 is invisible to version 1 and visible with {version: 2}', async () => {
      const c = await ctx.make();
      await c.set('k', 'two', { version: 2 });
      expect(await c.get('k')).toBeUndefined();
      expect(await c.has('k')).toBe(false);
      expect(await c.get('k', { version: 2 })).toBe('two');
      await c.set('k', 'one');
      expect(await c.get('k')).toBe('one');
      expect(await c.delete('k', { version: 2 })).toBe(true);
      expect(await c.get('k')).toBe('one');
      expect(await c.has('k', { version: 2 })).toBe(false);
    });

    it('the cache-level version is the default of every call', async () => {
      const v1 = await ctx.make();
      const v2 = await ctx.make({ version: 2 });
      await v2.set('k', 'from v2');
      expect(await v1.get('k')).toBeUndefined();
      expect(await v1.get('k', { version: 2 })).toBe('from v2');
      await v1.set('k', 'from v1');
      expect(await v2.get('k')).toBe('from v2');
      expect(await v2.get('k', { version: 1 })).toBe('from v1');
    });

    it('incrVersion moves the value and its remaining TTL up and returns the new version', async () => {
      const c = await ctx.make();
      await c.set('timed', 'x', 100);
      await c.set('forever', 'y', null);
      expect(await c.incrVersion('timed')).toBe(2);
      expect(await c.incrVersion('forever')).toBe(2);
      expect(await c.has('timed')).toBe(false);
      expect(await c.get('timed', { version: 2 })).toBe('x');
      expectTtl(await c.ttl('timed', { version: 2 }), 100, ctx.slack);
      expect(await c.get('forever', { version: 2 })).toBe('y');
      expect(await c.ttl('forever', { version: 2 })).toBeNull();
    });

    it('incrVersion and decrVersion take a delta and a starting version', async () => {
      const c = await ctx.make();
      await c.set('k', 'v', { version: 2 });
      expect(await c.incrVersion('k', 3, { version: 2 })).toBe(5);
      expect(await c.get('k', { version: 5 })).toBe('v');
      expect(await c.decrVersion('k', 1, { version: 5 })).toBe(4);
      expect(await c.decrVersion('k', 2, { version: 4 })).toBe(2);
      expect(await c.has('k', { version: 4 })).toBe(false);
      expect(await c.get('k', { version: 2 })).toBe('v');
      const v3 = await ctx.make({ version: 3 });
      await v3.set('j', 'w');
      expect(await v3.decrVersion('j')).toBe(2);
      expect(await v3.get('j', { version: 2 })).toBe('w');
    });

    it('incrVersion moves a stored null too', async () => {
      const c = await ctx.make();
      await c.set('k', null);
      expect(await c.incrVersion('k')).toBe(2);
      expect(await c.has('k', { version: 2 })).toBe(true);
      expect(await c.get('k', { version: 2, default: 'miss' })).toBeNull();
    });

    it('incrVersion and decrVersion reject with KeyNotFoundError on a missing key', async () => {
      const c = await ctx.make();
      await c.set('k', 'v', { version: 2 });
      await expectRejects(() => c.incrVersion('missing'), KeyNotFoundError);
      await expectRejects(() => c.decrVersion('missing'), KeyNotFoundError);
      await expectRejects(() => c.incrVersion('k'), KeyNotFoundError);
      expect(await c.get('k', { version: 2 })).toBe('v');
    });
  });
}

// ---------------------------------------------------------------------------------------------
// keys() and deletePattern()

const PATTERN_FIXTURE = [
  'dict_options:a',
  'dict_options:b',
  'dict_optionsX',
  'a1',
  'a2',
  'a10',
  'ab',
  'b1',
  'c1',
  'lit*',
  'litX',
  'q?',
  'qZ',
  'r[a]',
  'ra',
];

const PATTERN_CASES: Array<[pattern: string, matches: string[]]> = [
  ['*', PATTERN_FIXTURE],
  ['dict_options:*', ['dict_options:a', 'dict_options:b']],
  ['a?', ['a1', 'a2', 'ab']],
  ['[ab]1', ['a1', 'b1']],
  ['*1', ['a1', 'b1', 'c1']],
  ['lit\\*', ['lit*']],
  ['q\\?', ['q?']],
  ['r\\[a]', ['r[a]']],
  ['a1', ['a1']],
  ['nothing*', []],
];

export function definePatternTests(ctx: SuiteContext): void {
  describe('keys', () => {
    it('is an async iterable of the caller’s keys as passed to set', async () => {
      const c = await ctx.make();
      await seed(c, PATTERN_FIXTURE);
      const iterable = c.keys();
      expect(typeof iterable[Symbol.asyncIterator]).toBe('function');
      expect(await collect(iterable)).toEqual([...PATTERN_FIXTURE].sort());
    });

    for (const [pattern, matches] of PATTERN_CASES) {
      it(`keys(${JSON.stringify(pattern)}) yields ${matches.length} keys`, async () => {
        const c = await ctx.make();
        await seed(c, PATTERN_FIXTURE);
        expect(await collect(c.keys(pattern))).toEqual([...matches].sort());
      });
    }

    it('yields only this prefix and version', async () => {
      const c = await ctx.make();
      const other = await ctx.make({ keyPrefix: `${ctx.prefix()}-other` });
      await seed(c, ['a', 'b']);
      await seed(c, ['v2only'], { version: 2 });
      await seed(other, ['a', 'c']);
      expect(await collect(c.keys())).toEqual(['a', 'b']);
      expect(await collect(c.keys('*', { version: 2 }))).toEqual(['v2only']);
      expect(await collect(other.keys())).toEqual(['a', 'c']);
    });
  });

  describe('deletePattern', () => {
    for (const [pattern, matches] of PATTERN_CASES) {
      it(`deletePattern(${JSON.stringify(pattern)}) removes ${matches.length} keys and returns the count`, async () => {
        const c = await ctx.make();
        await seed(c, PATTERN_FIXTURE);
        expect(await c.deletePattern(pattern)).toBe(matches.length);
        const remaining = PATTERN_FIXTURE.filter((key) => !matches.includes(key)).sort();
        expect(await present(c, PATTERN_FIXTURE)).toEqual(remaining);
      });
    }

    it('touches only the caller’s keys: other prefixes and versions are untouched', async () => {
      const c = await ctx.make();
      const other = await ctx.make({ keyPrefix: `${ctx.prefix()}-other` });
      await seed(c, ['a', 'b']);
      await seed(c, ['a', 'c'], { version: 2 });
      await seed(other, ['a', 'b']);
      expect(await c.deletePattern('*')).toBe(2);
      expect(await present(c, ['a', 'b'])).toEqual([]);
      expect(await present(c, ['a', 'c'], 2)).toEqual(['a', 'c']);
      expect(await present(other, ['a', 'b'])).toEqual(['a', 'b']);
      expect(await c.deletePattern('*', { version: 2 })).toBe(2);
      expect(await present(c, ['a', 'c'], 2)).toEqual([]);
      expect(await present(other, ['a', 'b'])).toEqual(['a', 'b']);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Namespaces

export function defineNamespaceTests(ctx: SuiteContext): void {
  describe('namespace', () => {
    it('stores under `name:key` in the parent', async () => {
      const c = await ctx.make();
      const users = c.namespace('users');
      await users.set('a', 1);
      expect(await users.get('a')).toBe(1);
      expect(await c.get('users:a')).toBe(1);
      await c.set('users:b', 2);
      expect(await users.get('b')).toBe(2);
      expect([...(await users.getMany(['a', 'b', 'c']))]).toEqual([
        ['a', 1],
        ['b', 2],
      ]);
      expect(await users.incr('a')).toBe(2);
      expect(await users.getOrSet('c', () => 3)).toBe(3);
      expect(await c.get('users:c')).toBe(3);
    });

    it('nests', async () => {
      const c = await ctx.make();
      const admins = c.namespace('users').namespace('admins');
      await admins.set('a', 'root');
      expect(await c.get('users:admins:a')).toBe('root');
      expect(await c.namespace('users').get('admins:a')).toBe('root');
    });

    it('clear() removes only that namespace', async () => {
      const c = await ctx.make();
      const users = c.namespace('users');
      const nested = users.namespace('admins');
      await seed(users, ['a', 'b']);
      await seed(nested, ['x']);
      await seed(c, ['a', 'users', 'usersX', 'users2:a', 'other:a']);
      await nested.clear();
      expect(await nested.has('x')).toBe(false);
      expect(await present(users, ['a', 'b'])).toEqual(['a', 'b']);
      await users.clear();
      expect(await present(users, ['a', 'b'])).toEqual([]);
      expect(await present(c, ['a', 'users', 'usersX', 'users2:a', 'other:a'])).toEqual(
        ['a', 'other:a', 'users', 'users2:a', 'usersX'].sort(),
      );
    });

    it('a namespace name with glob characters is literal', async () => {
      const c = await ctx.make();
      const star = c.namespace('n*');
      await seed(star, ['a']);
      await seed(c.namespace('nX'), ['a']);
      expect(await collect(c.keys('n*:*'))).toEqual(['n*:a', 'nX:a']);
      await star.clear();
      expect(await collect(c.keys())).toEqual(['nX:a']);
    });

    it('keys() and deletePattern() of a view are relative to it', async () => {
      const c = await ctx.make();
      const users = c.namespace('users');
      await seed(users, ['a1', 'a2', 'b1']);
      await seed(c, ['a1', 'usersX']);
      expect(await collect(users.keys())).toEqual(['a1', 'a2', 'b1']);
      expect(await collect(users.keys('a*'))).toEqual(['a1', 'a2']);
      expect(await collect(c.keys('users:*'))).toEqual(['users:a1', 'users:a2', 'users:b1']);
      expect(await users.deletePattern('a?')).toBe(2);
      expect(await collect(users.keys())).toEqual(['b1']);
      expect(await present(c, ['a1', 'usersX'])).toEqual(['a1', 'usersX']);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// hashKeys and custom key functions, against the store

export function defineHashKeyTests(ctx: SuiteContext): void {
  describe('hashKeys and keyFunction', () => {
    it('hashKeys: values round-trip under every operation', async () => {
      const c = await ctx.make({ hashKeys: true });
      await c.set('plain', { a: 1 });
      expect(await c.get('plain')).toEqual({ a: 1 });
      expect(await c.has('plain')).toBe(true);
      expect(await c.add('plain', 'other')).toBe(false);
      await c.set('n', 1);
      expect(await c.incr('n')).toBe(2);
      expect([...(await c.getMany(['plain', 'n', 'missing']))]).toEqual([
        ['plain', { a: 1 }],
        ['n', 2],
      ]);
      expect(await c.getOrSet('loaded', () => 'v')).toBe('v');
      expect(await c.delete('plain')).toBe(true);
      expect(await c.has('plain')).toBe(false);
    });

    it('hashKeys: stores under the hashed key, so a plain cache sees the hashed name', async () => {
      const hashed = await ctx.make({ hashKeys: true });
      const plain = await ctx.make();
      await hashed.set('secret name', 'v');
      expect(await plain.get(sha256hex('secret name'))).toBe('v');
      expect(await plain.has('secret name')).toBe(false);
    });

    it('hashKeys: clear() still removes exactly this prefix', async () => {
      const c = await ctx.make({ hashKeys: true });
      const other = await ctx.make({ hashKeys: true, keyPrefix: `${ctx.prefix()}-other` });
      await seed(c, ['a', 'b']);
      await seed(other, ['a']);
      await c.clear();
      expect(await present(c, ['a', 'b'])).toEqual([]);
      expect(await other.has('a')).toBe(true);
    });

    it('hashKeys: keys() yields the stored (hashed) keys', async () => {
      const c = await ctx.make({ hashKeys: true });
      await seed(c, ['a', 'b']);
      const keys = await collect(c.keys());
      expect(keys).toHaveLength(2);
      // SPEC: "the iterator yields the stored keys" — accept the hash alone or the whole made key.
      for (const name of ['a', 'b']) {
        expect(
          keys.some((key) => key.endsWith(sha256hex(name))),
          name,
        ).toBe(true);
      }
    });

    it('keyFunction: the store is keyed by the made key', async () => {
      const c = await ctx.make({
        keyFunction: (key, keyPrefix, version) => `${keyPrefix}:${version}:${key.toUpperCase()}`,
      });
      const plain = await ctx.make();
      await c.set('ab', 'v');
      expect(await c.get('AB')).toBe('v');
      expect(await plain.get('AB')).toBe('v');
      expect(await plain.has('ab')).toBe(false);
    });
  });
}
