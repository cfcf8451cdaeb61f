/**
 * The `l1` and `bus` configuration fields: objects, URL parameters, defaults per backend, and a
 * `ConfigError` naming the field for every bad value (never showing a password).
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import { ConfigError } from '../src/core/errors.js';

const resolve = (input: Parameters<typeof resolveConfig>[0]) => resolveConfig(input, 'tiers');

describe('l1 and bus configuration', () => {
  it('is off by default', () => {
    const config = resolve({ backend: 'redis', location: 'redis://h:6379/0' });
    expect(config.l1).toBeUndefined();
    expect(config.bus).toBeUndefined();
  });

  it('defaults the bus to the store own server on redis and postgres, none on disk', () => {
    expect(resolve({ backend: 'redis', location: 'redis://h:6379/2', l1: {} })).toMatchObject({
      l1: { maxEntries: 10_000, maxSize: undefined, timeoutMs: 30_000 },
      bus: { url: 'redis://h:6379/2', own: true, kind: 'redis' },
    });
    expect(
      resolve({ backend: 'postgres', location: 'postgres://u@h/db', l1: { timeout: '5s' } }),
    ).toMatchObject({
      l1: { timeoutMs: 5000 },
      bus: { url: 'postgres://u@h/db', own: true, kind: 'postgres' },
    });
    expect(resolve({ backend: 'disk', location: '/tmp/x', l1: { maxEntries: 5 } }).bus).toBe(
      undefined,
    );
    expect(
      resolve({ backend: 'disk', location: '/tmp/x', l1: {}, bus: 'redis://b:6379' }).bus,
    ).toEqual({ url: 'redis://b:6379', own: false, kind: 'redis' });
    expect(resolve({ backend: 'redis', l1: {}, bus: false }).bus).toBeUndefined();
  });

  it('reads URL parameters', () => {
    const config = resolve(
      'redis://h:6379/0?l1MaxEntries=500&l1MaxSize=1048576&l1Timeout=10s&bus=postgres://u@p/db&keyPrefix=a',
    );
    expect(config.l1).toEqual({ maxEntries: 500, maxSize: 1_048_576, timeoutMs: 10_000 });
    expect(config.bus).toEqual({ url: 'postgres://u@p/db', own: false, kind: 'postgres' });
    expect(config.location).toBe('redis://h:6379/0');
    expect(resolve('redis://h:6379/0?l1Timeout=1m&bus=false').bus).toBeUndefined();
    expect(resolve('disk:///tmp/d?l1MaxEntries=3').l1?.maxEntries).toBe(3);
  });

  it.each([
    [{ backend: 'memory', l1: {} }, 'l1'],
    [{ backend: 'dummy', l1: {} }, 'l1'],
    [{ backend: 'redis', l1: { maxEntries: 0 } }, 'l1.maxEntries'],
    [{ backend: 'redis', l1: { maxEntries: 1.5 } }, 'l1.maxEntries'],
    [{ backend: 'redis', l1: { maxSize: -1 } }, 'l1.maxSize'],
    [{ backend: 'redis', l1: { timeout: 0 } }, 'l1.timeout'],
    [{ backend: 'redis', l1: { timeout: null } }, 'l1.timeout'],
    [{ backend: 'redis', l1: { timeout: 'soon' } }, 'l1.timeout'],
    [{ backend: 'redis', l1: { size: 3 } }, 'l1.size'],
    [{ backend: 'redis', l1: 'yes' }, 'l1'],
    [{ backend: 'redis', bus: 'redis://h' }, 'bus'],
    [{ backend: 'redis', l1: {}, bus: 'amqp://h' }, 'bus'],
    [{ backend: 'redis', l1: {}, bus: 42 }, 'bus'],
  ])('refuses %j (field %s)', (input, field) => {
    expect(() => resolve(input as never)).toThrow(ConfigError);
    expect(() => resolve(input as never)).toThrow(`field "${field}"`);
  });

  it('never shows a bus password', () => {
    let message = '';
    try {
      resolve({ backend: 'disk', location: '/tmp/x', l1: {}, bus: 'amqp://u:secret@h' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('field "bus"');
    expect(message).not.toContain('secret');
    expect(() => resolve('redis://h:6379/0?l1MaxEntries=zero')).toThrow('l1.maxEntries');
  });
});
