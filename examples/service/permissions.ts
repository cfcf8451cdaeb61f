/**
 * The permission hot data of the seed (its app/core/cache.py), under exactly its keys:
 *
 * | key                       | content                        | writer                  |
 * |---------------------------|--------------------------------|-------------------------|
 * | `constant_routes`         | constant route JSON            | `loadConstantRoutes`    |
 * | `role:{code}:menus`       | menu ids                       | `loadRolePermissions`   |
 * | `role:{code}:apis`        | `[{method, path, status}]`     | `loadRolePermissions`   |
 * | `role:{code}:buttons`     | button codes                   | `loadRolePermissions`   |
 * | `role:{code}:data_scope`  | `all`/`department`/`self`/…    | `loadRolePermissions`   |
 * | `user:{uid}:roles`        | role codes                     | `loadUserRoles`         |
 * | `user:{uid}:role_home`    | route name of the home page    | `loadUserRoles`         |
 * | `token_version:{uid}`     | integer (INCR)                 | `revokeTokens`          |
 *
 * Everything is loaded at start-up (`refreshAll`, once per start across workers) and reloaded
 * after every change (`loadRolePermissions`, `loadUserRoles`), so readers never see stale
 * permissions. Entries never expire: staleness is handled by those refreshes, not by TTLs.
 *
 * Token versions live in the `store` cache; everything else in `permissions` (with an L1 where the
 * store has a bus; see caches.ts).
 *
 * Reads go through `PermissionReader`: when the cache backend fails it reads the database instead
 * and logs the seed's WARNING, so an outage slows authentication down but never breaks it.
 */
import { BackendError, KeyNotFoundError, type Cache } from '../../src/index.js';
import type { ServiceCaches } from './caches.js';
import type { ApiRule, AppDatabase, DataScope } from './database.js';

export const keys = {
  constantRoutes: 'constant_routes',
  roleMenus: (code: string) => `role:${code}:menus`,
  roleApis: (code: string) => `role:${code}:apis`,
  roleButtons: (code: string) => `role:${code}:buttons`,
  roleDataScope: (code: string) => `role:${code}:data_scope`,
  userRoles: (uid: number) => `user:${uid}:roles`,
  userRoleHome: (uid: number) => `user:${uid}:role_home`,
  tokenVersion: (uid: number) => `token_version:${uid}`,
};

/** Minimal logger shape (Fastify's pino logger fits). */
export interface WarnLogger {
  warn(message: string): void;
  info(message: string): void;
}

/** Writes one role's four keys from the database (or removes them if the role is gone). */
export async function loadRolePermissions(
  cache: Cache,
  db: AppDatabase,
  code: string,
): Promise<void> {
  const role = db.rolePermissions(code);
  if (!role) {
    await cache.deleteMany([
      keys.roleMenus(code),
      keys.roleApis(code),
      keys.roleButtons(code),
      keys.roleDataScope(code),
    ]);
    return;
  }
  // setMany: one round trip on Redis; `null` = never expires (refreshes keep it current).
  const failed = await cache.setMany(
    {
      [keys.roleMenus(code)]: role.menus,
      [keys.roleApis(code)]: role.apis,
      [keys.roleButtons(code)]: role.buttons,
      [keys.roleDataScope(code)]: role.dataScope,
    },
    null,
  );
  if (failed.length > 0) throw new BackendError(`could not store ${failed.join(', ')}`);
}

/** Writes a user's role codes and home page from the database. */
export async function loadUserRoles(cache: Cache, db: AppDatabase, uid: number): Promise<void> {
  const failed = await cache.setMany(
    { [keys.userRoles(uid)]: db.userRoles(uid), [keys.userRoleHome(uid)]: db.userRoleHome(uid) },
    null,
  );
  if (failed.length > 0) throw new BackendError(`could not store ${failed.join(', ')}`);
}

export async function loadConstantRoutes(cache: Cache, db: AppDatabase): Promise<void> {
  await cache.set(keys.constantRoutes, db.constantRoutes(), null);
}

/** The start-up refresh: everything above, for every role and user. */
export async function refreshAll(
  caches: ServiceCaches,
  db: AppDatabase,
): Promise<{ roles: number; users: number }> {
  const cache = caches.permissions;
  await loadConstantRoutes(cache, db);
  const roles = db.roleCodes();
  for (const code of roles) await loadRolePermissions(cache, db, code);
  const users = db.users();
  for (const user of users) {
    await loadUserRoles(cache, db, user.id);
    // `add`, not `set`: a counter already in the store may be ahead of the database (an operator's
    // `redis-cli incr`); lowering it would bring revoked tokens back.
    await caches.store.add(keys.tokenVersion(user.id), user.tokenVersion, null);
  }
  return { roles: roles.length, users: users.length };
}

/**
 * Revokes every token of a user: INCR `token_version:{uid}` (atomic across workers), and records
 * the new version in the database too, which answers while the cache is down.
 */
export async function revokeTokens(
  cache: Cache,
  db: AppDatabase,
  uid: number,
  log: WarnLogger,
): Promise<number> {
  const key = keys.tokenVersion(uid);
  try {
    let version: number;
    try {
      version = await cache.incr(key);
    } catch (error) {
      if (!(error instanceof KeyNotFoundError)) throw error;
      const next = (db.user(uid)?.tokenVersion ?? 0) + 1;
      version = (await cache.add(key, next, null)) ? next : await cache.incr(key);
    }
    return db.raiseTokenVersion(uid, version);
  } catch (error) {
    if (!(error instanceof BackendError)) throw error;
    log.warn(`Redis unavailable, revoking tokens of user ${uid} in the database only`);
    return db.raiseTokenVersion(uid, (db.user(uid)?.tokenVersion ?? 0) + 1);
  }
}

/**
 * One request's view of a user's permissions. Reads the cache; a missing key (deleted by an
 * operator, or a store that lost its data) is reloaded from the database and stored again. On the
 * first backend failure it logs the seed's WARNING once and answers the rest of the request from
 * the database.
 */
export class PermissionReader {
  #fallback = false;

  private readonly cache: Cache;

  constructor(
    private readonly caches: ServiceCaches,
    private readonly db: AppDatabase,
    readonly uid: number,
    private readonly log: WarnLogger,
  ) {
    this.cache = caches.permissions;
  }

  /** Whether this request fell back to the database. */
  get usedDatabase(): boolean {
    return this.#fallback;
  }

  async #read<T>(
    key: string,
    fromDb: () => T,
    reload: () => Promise<void>,
    cache: Cache = this.cache,
  ): Promise<T> {
    if (!this.#fallback) {
      try {
        const cached = await cache.get<T>(key);
        if (cached !== undefined) return cached;
        await reload();
        return fromDb();
      } catch (error) {
        if (!(error instanceof BackendError)) throw error;
        this.#fallback = true;
        this.log.warn(`Redis unavailable, loading permissions from database for user ${this.uid}`);
      }
    }
    return fromDb();
  }

  tokenVersion(): Promise<number> {
    const key = keys.tokenVersion(this.uid);
    const fromDb = () => this.db.user(this.uid)?.tokenVersion ?? 0;
    const store = this.caches.store;
    return this.#read(
      key,
      fromDb,
      async () => {
        await store.add(key, fromDb(), null);
      },
      store,
    );
  }

  roles(): Promise<string[]> {
    return this.#read(
      keys.userRoles(this.uid),
      () => this.db.userRoles(this.uid),
      () => loadUserRoles(this.cache, this.db, this.uid),
    );
  }

  home(): Promise<string> {
    return this.#read(
      keys.userRoleHome(this.uid),
      () => this.db.userRoleHome(this.uid),
      () => loadUserRoles(this.cache, this.db, this.uid),
    );
  }

  #role<K extends 'menus' | 'apis' | 'buttons' | 'dataScope'>(code: string, field: K, key: string) {
    return this.#read(
      key,
      () => this.db.rolePermissions(code)?.[field] ?? (field === 'dataScope' ? 'self' : []),
      () => loadRolePermissions(this.cache, this.db, code),
    ) as Promise<
      K extends 'apis'
        ? ApiRule[]
        : K extends 'dataScope'
          ? DataScope
          : K extends 'menus'
            ? number[]
            : string[]
    >;
  }

  roleApis(code: string): Promise<ApiRule[]> {
    return this.#role(code, 'apis', keys.roleApis(code));
  }

  roleButtons(code: string): Promise<string[]> {
    return this.#role(code, 'buttons', keys.roleButtons(code));
  }

  roleDataScope(code: string): Promise<DataScope> {
    return this.#role(code, 'dataScope', keys.roleDataScope(code));
  }

  /** Union of the user's roles' buttons. */
  async buttons(): Promise<string[]> {
    const all = new Set<string>();
    for (const code of await this.roles())
      for (const button of await this.roleButtons(code)) all.add(button);
    return [...all].sort();
  }

  /** Whether any of the user's roles allows `method route` (R_SUPER: every API). */
  async canCall(method: string, route: string): Promise<boolean> {
    const roles = await this.roles();
    if (roles.includes('R_SUPER')) return true;
    for (const code of roles) {
      const apis = await this.roleApis(code);
      if (
        apis.some((api) => api.status === 'enabled' && api.method === method && api.path === route)
      )
        return true;
    }
    return false;
  }

  /** The widest data scope among the user's roles. */
  async dataScope(): Promise<DataScope> {
    const order: DataScope[] = ['all', 'custom', 'department', 'self'];
    let best: DataScope = 'self';
    for (const code of await this.roles()) {
      const scope = await this.roleDataScope(code);
      if (order.indexOf(scope) < order.indexOf(best)) best = scope;
    }
    return best;
  }
}
