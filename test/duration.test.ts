import { describe, expect, it } from 'vitest';
import {
  configDurationToMs,
  durationToMs,
  expiryFrom,
  resolveTimeout,
  type Duration,
} from '../src/core/duration.js';
import { ConfigError, InvalidValueError } from '../src/core/errors.js';
import { createCache } from '../src/core/registry.js';

describe('durationToMs', () => {
  it.each<[Duration, number]>([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    ['0ms', 0],
    ['1ms', 1],
  ])('%j is %d ms', (input, ms) => {
    expect(durationToMs(input)).toBe(ms);
  });

  it('reads a number as seconds, fractions allowed', () => {
    expect(durationToMs(1)).toBe(1000);
    expect(durationToMs(0.25)).toBe(250);
    expect(durationToMs(90)).toBe(90_000);
    expect(durationToMs(0)).toBe(0);
  });

  it('reads a bare numeric string as seconds, as URL query values are', () => {
    expect(durationToMs('90')).toBe(90_000);
    expect(durationToMs('0')).toBe(0);
    expect(durationToMs('0.5')).toBe(500);
  });

  it('accepts fractions with every unit', () => {
    expect(durationToMs('1.5h')).toBe(5_400_000);
    expect(durationToMs('0.5s')).toBe(500);
    expect(durationToMs('.5m')).toBe(30_000);
    expect(durationToMs('2.5ms')).toBe(2.5);
    expect(durationToMs('1.25d')).toBe(108_000_000);
  });

  it('keeps negative values negative (the caller decides what they mean)', () => {
    expect(durationToMs(-1)).toBe(-1000);
    expect(durationToMs('-5s')).toBe(-5000);
    expect(durationToMs('-1')).toBe(-1000);
    expect(durationToMs('-250ms')).toBe(-250);
  });

  const invalid: Array<[string, unknown]> = [
    ['a space before the unit', '5 m'],
    ['a leading space', ' 5s'],
    ['a trailing space', '5s '],
    ['an upper-case unit', '5M'],
    ['an upper-case S', '30S'],
    ['a long unit name', '5min'],
    ['seconds spelled out', '5sec'],
    ['an unknown unit', '5w'],
    ['the empty string', ''],
    ['a unit without a number', 'ms'],
    ['two units', '1h30m'],
    ['a plus sign', '+5s'],
    ['exponent notation', '1e3'],
    ['hexadecimal', '0x10'],
    ['a trailing newline', '5s\n'],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['an object', { seconds: 5 }],
    ['an array', [5]],
    ['a boolean', true],
    ['a bigint', 5n],
    ['null', null],
    ['undefined', undefined],
  ];

  it.each(invalid)('rejects %s with InvalidValueError', (_label, value) => {
    let thrown: unknown;
    try {
      durationToMs(value as Duration, 'timeout');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidValueError);
    expect(thrown).toMatchObject({ code: 'ERR_CACHE_INVALID_VALUE' });
    expect((thrown as Error).message).toContain('timeout');
  });

  it.each(invalid)(
    'configDurationToMs rejects %s with ConfigError naming where',
    (_label, value) => {
      let thrown: unknown;
      try {
        configDurationToMs(value, 'cache "web": field "timeout"');
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect(thrown).toMatchObject({ code: 'ERR_CACHE_CONFIG' });
      expect((thrown as Error).message).toContain('cache "web": field "timeout"');
    },
  );

  it('configDurationToMs parses what durationToMs parses', () => {
    for (const value of ['250ms', '30s', '5m', '1.5h', '7d', '90', 12, 0.5, -3]) {
      expect(configDurationToMs(value, 'x')).toBe(durationToMs(value));
    }
  });
});

describe('durations in configuration and in calls', () => {
  it.each(['5 m', '5M', '5min', '', 'soon'])(
    'a config timeout of %j is a ConfigError naming the alias and the field',
    (timeout) => {
      let thrown: unknown;
      try {
        createCache({ backend: 'memory', location: 'duration-test', timeout }, 'sessions');
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as Error).message).toContain('sessions');
      expect((thrown as Error).message).toContain('timeout');
    },
  );

  it.each([NaN, Infinity, -Infinity])('a config timeout of %s is a ConfigError', (timeout) => {
    expect(() => createCache({ backend: 'memory', timeout })).toThrow(ConfigError);
  });

  it.each(['5 m', '5M', '5min', ''])(
    'a call timeout of %j rejects with InvalidValueError',
    async (timeout) => {
      const cache = createCache({ backend: 'memory', location: 'duration-call-test' });
      await expect(cache.set('k', 1, timeout)).rejects.toBeInstanceOf(InvalidValueError);
      await expect(cache.set('k', 1, { timeout })).rejects.toBeInstanceOf(InvalidValueError);
      expect(await cache.has('k')).toBe(false);
    },
  );

  it('a valid config timeout becomes defaultTimeout in seconds', () => {
    expect(createCache({ backend: 'memory', timeout: '5m' }).defaultTimeout).toBe(300);
    expect(createCache({ backend: 'memory', timeout: '250ms' }).defaultTimeout).toBe(0.25);
    expect(createCache({ backend: 'memory', timeout: '90' }).defaultTimeout).toBe(90);
    expect(createCache({ backend: 'memory', timeout: null }).defaultTimeout).toBeNull();
    expect(createCache({ backend: 'memory' }).defaultTimeout).toBe(300);
  });
});

describe('resolveTimeout', () => {
  it('undefined takes the default', () => {
    expect(resolveTimeout(undefined, 300_000)).toBe(300_000);
    expect(resolveTimeout(undefined, 1)).toBe(1);
    expect(resolveTimeout(undefined, null)).toBeNull();
  });

  it('undefined with a default of zero or less discards', () => {
    expect(resolveTimeout(undefined, 0)).toBe('discard');
    expect(resolveTimeout(undefined, -1000)).toBe('discard');
  });

  it('null never expires, whatever the default', () => {
    expect(resolveTimeout(null, 300_000)).toBeNull();
    expect(resolveTimeout(null, 0)).toBeNull();
  });

  it.each<Duration>([0, -1, -0.001, '0', '0s', '0ms', '-5s', '-1', -1e12])(
    '%j discards',
    (timeout) => {
      expect(resolveTimeout(timeout, 300_000)).toBe('discard');
    },
  );

  it('positive values are milliseconds from now, not the default', () => {
    expect(resolveTimeout(10, 300_000)).toBe(10_000);
    expect(resolveTimeout('1.5h', null)).toBe(5_400_000);
    expect(resolveTimeout('1ms', 300_000)).toBe(1);
    expect(resolveTimeout(0.001, 300_000)).toBe(1);
  });

  it('100 years stays relative (no absolute-timestamp reading, no overflow)', () => {
    const hundredYears = 100 * 365 * 24 * 3600;
    const resolved = resolveTimeout(hundredYears, 300_000);
    expect(resolved).toBe(hundredYears * 1000);
    const now = 1_700_000_000_000;
    const expiry = expiryFrom(now, resolved as number);
    expect(expiry).toBe(now + hundredYears * 1000);
    expect(Number.isSafeInteger(expiry)).toBe(true);
    expect(resolveTimeout('36500d', null)).toBe(hundredYears * 1000);
  });

  it('a timestamp-sized number is still seconds from now', () => {
    // Memcached reads values over 30 days as absolute timestamps; skycache must not.
    const epochSeconds = 1_700_000_000;
    expect(resolveTimeout(epochSeconds, null)).toBe(epochSeconds * 1000);
  });

  it('rejects a malformed timeout with InvalidValueError', () => {
    expect(() => resolveTimeout('5 m', 300_000)).toThrow(InvalidValueError);
    expect(() => resolveTimeout(NaN, 300_000)).toThrow(InvalidValueError);
    expect(() => resolveTimeout({} as unknown as Duration, 300_000)).toThrow(InvalidValueError);
  });

  it('expiryFrom keeps null as never', () => {
    expect(expiryFrom(123, null)).toBeNull();
    expect(expiryFrom(1000, 500)).toBe(1500);
  });
});
