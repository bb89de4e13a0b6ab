import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createDemoRoute } from '../../src/transport/http/demo-route.ts';

describe('the /demo route', () => {
  const servers: Server[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const serve = async (dir: string): Promise<string> => {
    const app = express();
    app.use(createDemoRoute(dir));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'stayline-demo-'));
    dirs.push(dir);
    return dir;
  };

  it('serves the built page and its assets, and keeps the query when it adds the trailing slash', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>demo</title>');
    writeFileSync(join(dir, 'demo.js'), 'export {};');
    const url = await serve(dir);
    const page = await fetch(`${url}/demo/?token=abc`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<title>demo</title>');
    expect((await fetch(`${url}/demo/demo.js`)).headers.get('content-type')).toMatch(/javascript/);
    const bare = await fetch(`${url}/demo?token=abc`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/demo/?token=abc');
    expect((await fetch(`${url}/demo/nope.js`)).status).toBe(404);
  });

  it('answers 503 naming the build command when the demo is not built', async () => {
    const url = await serve(join(tempDir(), 'missing'));
    const res = await fetch(`${url}/demo/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build -w @stayline/client-sdk');
  });
});
