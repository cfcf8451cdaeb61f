/**
 * The built-in backends by name. A backend module is light to import: its driver is loaded by the
 * factory, on first use.
 */
import type { BackendDefinition } from './definition.js';
import { diskBackend } from './disk.js';
import { dummyBackend } from './dummy.js';
import { memoryBackend } from './memory.js';
import { postgresBackend } from './postgres.js';
import { redisBackend } from './redis.js';

/** Built-in backends that exist in this version. */
export const builtinBackends: Readonly<Record<string, BackendDefinition>> = {
  memory: memoryBackend,
  disk: diskBackend,
  redis: redisBackend,
  postgres: postgresBackend,
  dummy: dummyBackend,
};

/** Backend names that are part of the contract, whether or not this version ships them yet. */
export const knownBackendNames = ['memory', 'disk', 'redis', 'postgres', 'dummy'] as const;
