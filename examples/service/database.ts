/**
 * The service's own data: an embedded SQLite database (better-sqlite3), created and seeded on first
 * start. It is the source of truth; the cache only holds copies (see permissions.ts).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import Database from 'better-sqlite3';

export type DataScope = 'all' | 'department' | 'self' | 'custom';

export interface ApiRule {
  method: string;
  path: string;
  status: 'enabled' | 'disabled';
}

export interface UserRow {
  id: number;
  username: string;
  departmentId: number;
  tokenVersion: number;
}

export interface RolePermissions {
  menus: number[];
  apis: ApiRule[];
  buttons: string[];
  dataScope: DataScope;
}

export interface DictOption {
  value: string;
  label: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS departments (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
  department_id INTEGER NOT NULL REFERENCES departments(id), token_version INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS roles (
  code TEXT PRIMARY KEY, name TEXT NOT NULL, home TEXT NOT NULL,
  data_scope TEXT NOT NULL CHECK (data_scope IN ('all', 'department', 'self', 'custom')));
CREATE TABLE IF NOT EXISTS user_roles (
  user_id INTEGER NOT NULL REFERENCES users(id), role_code TEXT NOT NULL REFERENCES roles(code),
  PRIMARY KEY (user_id, role_code));
CREATE TABLE IF NOT EXISTS menus (id INTEGER PRIMARY KEY, name TEXT NOT NULL, route TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS role_menus (role_code TEXT NOT NULL, menu_id INTEGER NOT NULL,
  PRIMARY KEY (role_code, menu_id));
CREATE TABLE IF NOT EXISTS apis (id INTEGER PRIMARY KEY, method TEXT NOT NULL, path TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'enabled', UNIQUE (method, path));
CREATE TABLE IF NOT EXISTS role_apis (role_code TEXT NOT NULL, api_id INTEGER NOT NULL,
  PRIMARY KEY (role_code, api_id));
CREATE TABLE IF NOT EXISTS buttons (code TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS role_buttons (role_code TEXT NOT NULL, button_code TEXT NOT NULL,
  PRIMARY KEY (role_code, button_code));
CREATE TABLE IF NOT EXISTS dictionaries (type TEXT NOT NULL, value TEXT NOT NULL, label TEXT NOT NULL,
  sort INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (type, value));
CREATE TABLE IF NOT EXISTS constant_routes (name TEXT PRIMARY KEY, path TEXT NOT NULL, title TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS crm_leads (id INTEGER PRIMARY KEY, department_id INTEGER NOT NULL,
  owner_id INTEGER NOT NULL, status TEXT NOT NULL, amount INTEGER NOT NULL);
`;

/** Every API the service checks, as `METHOD path` with Fastify's route patterns. */
export const CHECKED_APIS: ReadonlyArray<readonly [string, string]> = [
  ['GET', '/api/users'],
  ['PUT', '/api/roles/:code/apis'],
  ['PUT', '/api/users/:id/roles'],
  ['PUT', '/api/dictionaries/:type/options'],
  ['POST', '/api/leads'],
];

export function hashPassword(password: string, salt = randomBytes(16).toString('hex')): string {
  return `${salt}:${scryptSync(password, salt, 32).toString('hex')}`;
}

function passwordMatches(password: string, stored: string): boolean {
  const [salt, hash] = stored.split(':');
  if (!salt || !hash) return false;
  const expected = Buffer.from(hash, 'hex');
  const actual = scryptSync(password, salt, expected.length);
  return timingSafeEqual(actual, expected);
}

/** Opens (creating the file and its directory if needed) and seeds on first use. */
export function openDatabase(path: string): AppDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // Several workers write to one file: wait for each other's short transactions.
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  const app = new AppDatabase(db);
  app.seedIfEmpty();
  return app;
}

export class AppDatabase {
  constructor(readonly db: Database.Database) {}

  /** First start only: departments, users, roles and their permissions, dictionaries, leads. */
  seedIfEmpty(): void {
    const seed = this.db.transaction(() => {
      if (this.db.prepare('SELECT 1 FROM users LIMIT 1').get()) return;
      const run = (sql: string, ...params: unknown[]) => this.db.prepare(sql).run(...params);
      run(
        "INSERT OR IGNORE INTO settings VALUES ('token_secret', ?)",
        randomBytes(32).toString('hex'),
      );
      for (const [id, name] of [
        [1, 'Head office'],
        [42, 'Sales East'],
        [43, 'Sales West'],
      ] as const)
        run('INSERT INTO departments VALUES (?, ?)', id, name);
      for (const [code, name, home, scope] of [
        ['R_SUPER', 'Super administrator', 'dashboard', 'all'],
        ['R_HR_ADMIN', 'HR administrator', 'manage_user', 'department'],
        ['R_USER', 'User', 'home', 'self'],
      ] as const)
        run('INSERT INTO roles VALUES (?, ?, ?, ?)', code, name, home, scope);
      for (const [id, username, password, department, role] of [
        [1, 'admin', 'admin123', 1, 'R_SUPER'],
        [2, 'hr', 'hr123', 42, 'R_HR_ADMIN'],
        [3, 'alice', 'alice123', 42, 'R_USER'],
      ] as const) {
        run(
          'INSERT INTO users (id, username, password_hash, department_id) VALUES (?, ?, ?, ?)',
          id,
          username,
          hashPassword(password),
          department,
        );
        run('INSERT INTO user_roles VALUES (?, ?)', id, role);
      }
      const menus = [
        [1, 'Home', 'home'],
        [2, 'Dashboard', 'dashboard'],
        [3, 'Users', 'manage_user'],
        [4, 'Roles', 'manage_role'],
        [5, 'Dictionaries', 'manage_dictionary'],
      ] as const;
      for (const menu of menus) run('INSERT INTO menus VALUES (?, ?, ?)', ...menu);
      for (const id of [1, 2, 3, 4, 5]) run('INSERT INTO role_menus VALUES (?, ?)', 'R_SUPER', id);
      for (const id of [1, 3, 5]) run('INSERT INTO role_menus VALUES (?, ?)', 'R_HR_ADMIN', id);
      run('INSERT INTO role_menus VALUES (?, ?)', 'R_USER', 1);
      for (const [method, path] of CHECKED_APIS)
        run('INSERT INTO apis (method, path) VALUES (?, ?)', method, path);
      run('INSERT INTO role_apis SELECT ?, id FROM apis', 'R_SUPER');
      for (const [method, path] of [
        ['GET', '/api/users'],
        ['PUT', '/api/users/:id/roles'],
        ['PUT', '/api/dictionaries/:type/options'],
      ])
        run(
          'INSERT INTO role_apis SELECT ?, id FROM apis WHERE method = ? AND path = ?',
          'R_HR_ADMIN',
          method,
          path,
        );
      for (const [code, name] of [
        ['user:add', 'Add user'],
        ['user:edit', 'Edit user'],
        ['user:delete', 'Delete user'],
        ['lead:export', 'Export leads'],
      ])
        run('INSERT INTO buttons VALUES (?, ?)', code, name);
      run('INSERT INTO role_buttons SELECT ?, code FROM buttons', 'R_SUPER');
      run(
        'INSERT INTO role_buttons VALUES (?, ?), (?, ?)',
        'R_HR_ADMIN',
        'user:add',
        'R_HR_ADMIN',
        'user:edit',
      );
      for (const [value, label, sort] of [
        ['male', 'Male', 1],
        ['female', 'Female', 2],
        ['unknown', 'Unknown', 3],
      ] as const)
        run('INSERT INTO dictionaries VALUES (?, ?, ?, ?)', 'gender', value, label, sort);
      for (const [name, path, title] of [
        ['login', '/login', 'Sign in'],
        ['403', '/403', 'Forbidden'],
        ['404', '/404', 'Not found'],
      ])
        run('INSERT INTO constant_routes VALUES (?, ?, ?)', name, path, title);
      const statuses = ['new', 'contacted', 'won', 'lost'];
      for (let id = 1; id <= 400; id++) {
        run(
          'INSERT INTO crm_leads VALUES (?, ?, ?, ?, ?)',
          id,
          id % 3 === 0 ? 43 : 42,
          (id % 3) + 1,
          statuses[id % 4],
          (id * 37) % 1000,
        );
      }
    });
    seed.immediate();
  }

  setting(name: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as
      { value: string } | undefined;
    return row?.value;
  }

  /** The user if the password matches, else `undefined`. */
  authenticate(username: string, password: string): UserRow | undefined {
    const row = this.db
      .prepare('SELECT password_hash AS hash FROM users WHERE username = ?')
      .get(username) as { hash: string } | undefined;
    if (!row || !passwordMatches(password, row.hash)) return undefined;
    return this.userByName(username);
  }

  userByName(username: string): UserRow | undefined {
    return this.db
      .prepare(
        'SELECT id, username, department_id AS departmentId, token_version AS tokenVersion FROM users WHERE username = ?',
      )
      .get(username) as UserRow | undefined;
  }

  user(id: number): UserRow | undefined {
    return this.db
      .prepare(
        'SELECT id, username, department_id AS departmentId, token_version AS tokenVersion FROM users WHERE id = ?',
      )
      .get(id) as UserRow | undefined;
  }

  users(): UserRow[] {
    return this.db
      .prepare(
        'SELECT id, username, department_id AS departmentId, token_version AS tokenVersion FROM users ORDER BY id',
      )
      .all() as UserRow[];
  }

  roleCodes(): string[] {
    return (
      this.db.prepare('SELECT code FROM roles ORDER BY code').all() as { code: string }[]
    ).map((row) => row.code);
  }

  userRoles(userId: number): string[] {
    return (
      this.db
        .prepare('SELECT role_code AS code FROM user_roles WHERE user_id = ? ORDER BY role_code')
        .all(userId) as { code: string }[]
    ).map((row) => row.code);
  }

  /** The home page of the user's first role (by code), as the seed's `role_home`. */
  userRoleHome(userId: number): string {
    const row = this.db
      .prepare(
        'SELECT r.home FROM user_roles ur JOIN roles r ON r.code = ur.role_code WHERE ur.user_id = ? ORDER BY r.code LIMIT 1',
      )
      .get(userId) as { home: string } | undefined;
    return row?.home ?? 'home';
  }

  rolePermissions(code: string): RolePermissions | undefined {
    const role = this.db
      .prepare('SELECT data_scope AS scope FROM roles WHERE code = ?')
      .get(code) as { scope: DataScope } | undefined;
    if (!role) return undefined;
    const menus = (
      this.db
        .prepare('SELECT menu_id AS id FROM role_menus WHERE role_code = ? ORDER BY menu_id')
        .all(code) as { id: number }[]
    ).map((row) => row.id);
    const apis = this.db
      .prepare(
        'SELECT a.method, a.path, a.status FROM role_apis ra JOIN apis a ON a.id = ra.api_id WHERE ra.role_code = ? ORDER BY a.path, a.method',
      )
      .all(code) as ApiRule[];
    const buttons = (
      this.db
        .prepare(
          'SELECT button_code AS code FROM role_buttons WHERE role_code = ? ORDER BY button_code',
        )
        .all(code) as { code: string }[]
    ).map((row) => row.code);
    return { menus, apis, buttons, dataScope: role.scope };
  }

  /** Replaces a role's API list (creating unknown APIs, enabled); `false` if the role does not exist. */
  setRoleApis(code: string, apis: ReadonlyArray<{ method: string; path: string }>): boolean {
    const replace = this.db.transaction(() => {
      if (!this.db.prepare('SELECT 1 FROM roles WHERE code = ?').get(code)) return false;
      this.db.prepare('DELETE FROM role_apis WHERE role_code = ?').run(code);
      for (const { method, path } of apis) {
        this.db
          .prepare('INSERT OR IGNORE INTO apis (method, path) VALUES (?, ?)')
          .run(method, path);
        this.db
          .prepare(
            'INSERT OR IGNORE INTO role_apis SELECT ?, id FROM apis WHERE method = ? AND path = ?',
          )
          .run(code, method, path);
      }
      return true;
    });
    return replace.immediate();
  }

  /** Replaces a user's roles; `'no-user'` or the unknown role codes when it cannot. */
  setUserRoles(userId: number, codes: readonly string[]): true | 'no-user' | string[] {
    const replace = this.db.transaction(() => {
      if (!this.user(userId)) return 'no-user' as const;
      const known = new Set(this.roleCodes());
      const unknown = codes.filter((code) => !known.has(code));
      if (unknown.length > 0) return unknown;
      this.db.prepare('DELETE FROM user_roles WHERE user_id = ?').run(userId);
      for (const code of new Set(codes))
        this.db.prepare('INSERT INTO user_roles VALUES (?, ?)').run(userId, code);
      return true as const;
    });
    return replace.immediate();
  }

  /** Records a token version at least `atLeast` (the cache's counter may be ahead of the database). */
  raiseTokenVersion(userId: number, atLeast: number): number {
    this.db
      .prepare('UPDATE users SET token_version = max(token_version, ?) WHERE id = ?')
      .run(atLeast, userId);
    return this.user(userId)?.tokenVersion ?? atLeast;
  }

  constantRoutes(): { name: string; path: string; title: string }[] {
    return this.db.prepare('SELECT name, path, title FROM constant_routes ORDER BY name').all() as {
      name: string;
      path: string;
      title: string;
    }[];
  }

  /** A dictionary's options, or `undefined` when the type does not exist. */
  dictOptions(type: string): DictOption[] | undefined {
    const rows = this.db
      .prepare('SELECT value, label FROM dictionaries WHERE type = ? ORDER BY sort, value')
      .all(type) as DictOption[];
    return rows.length > 0 ? rows : undefined;
  }

  setDictOptions(type: string, options: readonly DictOption[]): void {
    this.db
      .transaction(() => {
        this.db.prepare('DELETE FROM dictionaries WHERE type = ?').run(type);
        options.forEach((option, sort) =>
          this.db
            .prepare('INSERT OR REPLACE INTO dictionaries VALUES (?, ?, ?, ?)')
            .run(type, option.value, option.label, sort),
        );
      })
      .immediate();
  }

  /** Lead counts by status within a data scope (`undefined` bounds = everything). */
  leadCounts(scope: { departmentId?: number; ownerId?: number }): Record<string, number> {
    const rows = this.db
      .prepare(
        `SELECT status, count(*) AS n FROM crm_leads
         WHERE (@dept IS NULL OR department_id = @dept) AND (@owner IS NULL OR owner_id = @owner)
         GROUP BY status ORDER BY status`,
      )
      .all({ dept: scope.departmentId ?? null, owner: scope.ownerId ?? null }) as {
      status: string;
      n: number;
    }[];
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  }

  addLead(lead: { departmentId: number; ownerId: number; status: string; amount: number }): number {
    return Number(
      this.db
        .prepare(
          'INSERT INTO crm_leads (department_id, owner_id, status, amount) VALUES (?, ?, ?, ?)',
        )
        .run(lead.departmentId, lead.ownerId, lead.status, lead.amount).lastInsertRowid,
    );
  }

  /** The heavy report's query: every lead joined with its department, aggregated. */
  revenueByDepartment(): { department: string; leads: number; won: number; amount: number }[] {
    return this.db
      .prepare(
        `SELECT d.name AS department, count(*) AS leads,
                sum(l.status = 'won') AS won, sum(l.amount) AS amount
         FROM crm_leads l JOIN departments d ON d.id = l.department_id
         GROUP BY d.id ORDER BY d.name`,
      )
      .all() as { department: string; leads: number; won: number; amount: number }[];
  }

  close(): void {
    this.db.close();
  }
}
