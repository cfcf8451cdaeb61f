/**
 * The Lua scripts that make multi-step operations atomic on the server. Each runs by `EVALSHA`,
 * falling back to `EVAL` once per node when the script cache does not have it (`NOSCRIPT`).
 */
import { createHash } from 'node:crypto';

/** A script and its SHA-1, the name `EVALSHA` knows it by. */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Error reply prefixes the scripts use, so the store can map them to skycache errors. */
export const NOT_INTEGER = 'SKYCACHE_NOT_INTEGER';
export const OUT_OF_RANGE = 'SKYCACHE_OUT_OF_RANGE';

/**
 * `incr`: KEYS[1] the key, ARGV[1] the delta. Returns the new value, or nil when the key is
 * absent (plain `INCRBY` would create it). `INCRBY` keeps the key's TTL. The value must be
 * decimal integer text, and the result must stay within JavaScript's safe integers (±2^53 − 1):
 * Lua numbers are doubles, and the checks below are exact for every value they let through.
 */
export const INCR_SCRIPT = script(`
local value = redis.call('GET', KEYS[1])
if not value then return nil end
if not string.find(value, '^%-?%d+$') then
  return redis.error_reply('${NOT_INTEGER} the value is not an integer')
end
local current = tonumber(value)
local result = current + tonumber(ARGV[1])
if math.abs(current) > 9007199254740991 or math.abs(result) > 9007199254740991 then
  return redis.error_reply('${OUT_OF_RANGE} the result would leave the safe integer range')
end
return redis.call('INCRBY', KEYS[1], ARGV[1])
`);

/**
 * `touch` with no expiry: `PERSIST` alone answers 0 both for an absent key and for one that never
 * expired, so the script asks `EXISTS` first. Returns 1 if the key exists.
 */
export const PERSIST_SCRIPT = script(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('PERSIST', KEYS[1])
return 1
`);

/**
 * `move` (for `incrVersion`): KEYS[1] → KEYS[2] with the remaining TTL, atomically. Returns 1 if
 * moved, 0 if KEYS[1] was absent.
 */
export const MOVE_SCRIPT = script(`
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 then
  redis.call('SET', KEYS[2], value)
elseif ttl > 0 then
  redis.call('SET', KEYS[2], value, 'PX', ttl)
else
  return 0
end
redis.call('UNLINK', KEYS[1])
return 1
`);

/**
 * Compare-and-delete for locks: KEYS[1] the key, ARGV[1] the expected value. Deletes the key only
 * if it holds exactly that value; returns 1 if it did.
 */
export const DELETE_IF_VALUE_SCRIPT = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`);

/**
 * Compare-and-touch for locks: KEYS[1] the key, ARGV[1] the expected value, ARGV[2] the new TTL in
 * ms, or '' to make it persistent. Returns 1 if the key held the value and was renewed.
 */
export const TOUCH_IF_VALUE_SCRIPT = script(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('PERSIST', KEYS[1])
  return 1
end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
`);
