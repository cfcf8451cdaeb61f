/**
 * The dashboard in headless Chromium (Debian's `chromium`, driven by playwright-core): login,
 * no console errors, search, delete by pattern after confirmation, the hit-rate chart following
 * traffic, a hostile key rendered as text, refused changes, and no request leaving the origin.
 * Screenshots go to test/artifacts/ (git-ignored).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Cache } from '../src/core/cache.js';
import { silentLogger } from '../src/core/logger.js';
import { createCache } from '../src/core/registry.js';
import type { Store } from '../src/core/store.js';
import { dashboard } from '../src/integrations/dashboard/index.js';
import { describeWithService } from './support/services.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve(import.meta.dirname, 'artifacts');
const TOKEN = 'dashboard-test-token';
const HOSTILE = '<img src=x onerror=alert(1)>';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describeWithService(
  'Chromium',
  existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed`,
  'dashboard in headless Chromium',
  () => {
    const directory = mkdtempSync(join(tmpdir(), 'skycache-dashboard-'));
    let users: Cache;
    let files: Cache;
    let flaky: Cache;
    let server: Server;
    let origin: string;
    let context: BrowserContext;
    let page: Page;
    const consoleErrors: string[] = [];
    const dialogs: string[] = [];
    const requests: string[] = [];

    beforeAll(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      users = createCache('memory://dashboard-users?keyPrefix=app', 'users');
      files = createCache(`disk://${directory}`, 'files');
      // A store that always fails, behind a breaker that opens after two failures.
      const down = new Proxy({} as Store, {
        get: (_target, property) =>
          property === 'capabilities'
            ? { sync: false }
            : property === 'then'
              ? undefined
              : property === 'close'
                ? () => undefined
                : () => Promise.reject(new Error('store down')),
      });
      flaky = createCache(
        {
          backend: () => down,
          failOpen: true,
          logger: silentLogger,
          circuitBreaker: { failures: 2, openFor: '1h' },
        },
        'flaky',
      );
      for (let i = 0; i < 3; i++) await flaky.get('k');
      server = createServer(dashboard({ caches: [users, files, flaky], token: TOKEN }));
      origin = await listen(server);
      context = await chromium.launchPersistentContext(join(directory, 'profile'), {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
        viewport: { width: 1280, height: 1000 },
      });
      page = context.pages()[0] ?? (await context.newPage());
      page.on('request', (request) => requests.push(request.url()));
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });
      page.on('pageerror', (error) => consoleErrors.push(error.message));
      page.on('dialog', (dialog) => {
        dialogs.push(`${dialog.type()}: ${dialog.message()}`);
        void dialog.accept();
      });
    }, 120_000);

    afterAll(async () => {
      await context?.close();
      server?.closeAllConnections();
      await new Promise((done) => server?.close(done));
      await users?.close();
      await files?.close();
      await flaky?.close();
      rmSync(directory, { recursive: true, force: true });
    });

    it('asks for the token, then logs in with an HttpOnly SameSite=Strict cookie', async () => {
      await page.goto(`${origin}/?poll=300`);
      await expect.poll(() => page.locator('input[name=token]').count()).toBe(1);
      await page.fill('input[name=token]', 'wrong');
      await page.click('button[type=submit]');
      await expect.poll(() => page.locator('.error').textContent()).toBe('Wrong token.');
      await page.fill('input[name=token]', TOKEN);
      await page.click('button[type=submit]');
      await page.waitForSelector('#caches tbody tr[data-alias=users]', { timeout: 30_000 });
      const [cookie] = await context.cookies(origin);
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
      expect(cookie!.value).not.toContain(TOKEN);
      expect(await page.locator('#caches tbody tr').count()).toBe(3);
      const breaker = (alias: string) =>
        page.locator(`#caches tbody tr[data-alias=${alias}] td`).nth(5).textContent();
      expect(await breaker('users')).toBe('closed');
      if ('circuit' in flaky.stats()) expect(await breaker('flaky')).toBe('open');
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-caches.png'), fullPage: true });
    }, 120_000);

    it('search finds exactly the matching keys, with TTL and size', async () => {
      for (const key of ['user:1', 'user:2', 'user:3', 'order:1']) await users.set(key, { key });
      await users.set(HOSTILE, '<script>window.hacked = 1</script>', null);
      await page.selectOption('#cache', 'users');
      await page.fill('#pattern', 'user:*');
      await page.click('#search button[type=submit]');
      await expect
        .poll(async () => (await page.locator('#keys td.key').allTextContents()).sort())
        .toEqual(['user:1', 'user:2', 'user:3']);
      const firstRow = await page.locator('#keys tbody tr').first().locator('td').allTextContents();
      expect(Number(firstRow[1])).toBeGreaterThan(200);
      expect(Number(firstRow[2])).toBe(Buffer.byteLength(JSON.stringify({ key: 'user:1' })));
    }, 60_000);

    it('a key named like HTML shows as text and runs nothing', async () => {
      await page.fill('#pattern', '<*');
      await page.click('#search button[type=submit]');
      await expect.poll(() => page.locator('#keys td.key').allTextContents()).toEqual([HOSTILE]);
      await page.locator('#keys td.key').first().click();
      await expect
        .poll(() => page.locator('#entry-value').textContent())
        .toBe('<script>window.hacked = 1</script>');
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.locator('#entry script, #keys script').count()).toBe(0);
      expect(await page.evaluate(() => (globalThis as { hacked?: number }).hacked)).toBeUndefined();
      expect(await page.locator('#entry-facts dd').first().textContent()).toBe(HOSTILE);
      expect(dialogs).toEqual([]);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-entry.png'), fullPage: true });
    }, 60_000);

    it('delete by pattern shows the count first, then removes exactly the matches', async () => {
      await page.fill('#delete-pattern-input', 'user:*');
      await page.click('#delete-pattern button[type=submit]');
      await expect
        .poll(() => page.locator('#delete-pattern-count').textContent())
        .toBe('3 keys match user:*');
      expect(await users.has('user:1')).toBe(true);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-confirm.png'), fullPage: true });
      expect(await page.locator('#delete-pattern-confirm').textContent()).toBe('Delete 3 keys');
      await page.click('#delete-pattern-confirm');
      await expect
        .poll(() => page.locator('#delete-pattern-count').textContent())
        .toBe('deleted 3 keys matching user:*');
      const left: string[] = [];
      for await (const key of users.keys()) left.push(key);
      expect(left.sort()).toEqual([HOSTILE, 'order:1'].sort());
    }, 60_000);

    it('the hit-rate chart follows traffic', async () => {
      const chart = page.locator('#chart');
      await expect.poll(() => chart.locator('canvas').count()).toBeGreaterThan(0);
      const lastRate = async () => (await chart.getAttribute('data-last')) ?? '';
      // All hits: the chart's latest point becomes 100 %.
      const hitsUntil = Date.now() + 60_000;
      while ((await lastRate()) !== '1' && Date.now() < hitsUntil) {
        for (let i = 0; i < 20; i++) await users.get('order:1');
        await new Promise((done) => setTimeout(done, 100));
      }
      expect(await lastRate()).toBe('1');
      const points = Number(await chart.getAttribute('data-points'));
      // Then all misses: it drops to 0 %.
      const missesUntil = Date.now() + 60_000;
      while ((await lastRate()) !== '0' && Date.now() < missesUntil) {
        for (let i = 0; i < 20; i++) await users.get('absent');
        await new Promise((done) => setTimeout(done, 100));
      }
      expect(await lastRate()).toBe('0');
      expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThan(points);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    }, 150_000);

    it('changes without the token, without Origin or from another origin are refused', async () => {
      await users.set('keep', 1);
      const body = JSON.stringify({ cache: 'users', key: 'keep' });
      const post = (headers: Record<string, string>) =>
        fetch(`${origin}/api/delete`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        });
      expect((await post({ origin })).status).toBe(401);
      expect((await post({ authorization: `Bearer ${TOKEN}` })).status).toBe(403);
      const foreign = await post({
        authorization: `Bearer ${TOKEN}`,
        origin: 'http://evil.example',
      });
      expect(foreign.status).toBe(403);
      expect((await fetch(`${origin}/api/caches`)).status).toBe(401);

      // From a page on another origin in the same browser (the login cookie exists): refused.
      const other = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><title>other</title>');
      });
      const otherOrigin = await listen(other);
      try {
        const attacker = await context.newPage();
        await attacker.goto(otherOrigin);
        await attacker.evaluate(async (target) => {
          await fetch(`${target}/api/delete`, {
            method: 'POST',
            mode: 'no-cors',
            credentials: 'include',
            headers: { 'content-type': 'text/plain' },
            body: JSON.stringify({ cache: 'users', key: 'keep' }),
          }).catch(() => {});
        }, origin);
        await attacker.close();
      } finally {
        other.closeAllConnections();
        await new Promise((done) => other.close(done));
      }
      expect(await users.get('keep')).toBe(1);

      expect((await post({ authorization: `Bearer ${TOKEN}`, origin })).status).toBe(200);
      expect(await users.has('keep')).toBe(false);
    }, 60_000);

    it('had no console errors and made no request outside its origin', () => {
      expect(consoleErrors, consoleErrors.join('\n')).toEqual([]);
      expect(dialogs).toEqual([]);
      expect(requests.length).toBeGreaterThan(5);
      for (const url of requests)
        expect(url.startsWith(`${origin}/`) || url.startsWith('data:'), url).toBe(true);
    });
  },
);
