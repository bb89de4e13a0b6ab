/**
 * deploy/haproxy: the template renders into configs HAProxy itself accepts (`haproxy -c`), the compose
 * config is the template's rendering, and the settings Socket.IO needs are there.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  COMPOSE_HAPROXY_FILE,
  HAPROXY_TEMPLATE_FILE,
  checkHaproxyConfig,
  findHaproxy,
  renderComposeHaproxyConfig,
  renderHaproxyConfig,
} from '../../../../dev/haproxy.ts';
import { DEFAULTS, durationSeconds } from './deploy-files.ts';

const haproxy = findHaproxy();
if (haproxy === undefined) {
  console.warn(
    'SKIPPED `haproxy -c` checks: haproxy is not installed (npm test installs it: scripts/test.mjs)',
  );
}
const template = readFileSync(HAPROXY_TEMPLATE_FILE, 'utf8');
const compose = readFileSync(COMPOSE_HAPROXY_FILE, 'utf8');
const local = renderHaproxyConfig({
  bind: '127.0.0.1:18080',
  maxconn: 5000,
  servers: [1, 2, 3].map((i) => ({ name: `node-${i}`, address: `127.0.0.1:${30000 + i}` })),
});
const dir = mkdtempSync(join(tmpdir(), 'stayline-haproxy-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The value of `keyword` in one section (`defaults`, `backend gateways`), e.g. timeouts. */
function sectionLines(config: string, header: string): string[] {
  const lines = config.split('\n');
  const start = lines.findIndex((l) => l.trim() === header);
  if (start < 0) throw new Error(`no section "${header}"`);
  const body: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line)) break;
    const t = line.trim();
    if (t !== '' && !t.startsWith('#')) body.push(t);
  }
  return body;
}

describe('deploy/haproxy', () => {
  it.skipIf(haproxy === undefined)(
    'passes `haproxy -c`: every .cfg in deploy/haproxy and a local rendering',
    () => {
      const shipped = readdirSync(dirname(COMPOSE_HAPROXY_FILE)).filter((f) => f.endsWith('.cfg'));
      expect(shipped).toContain('haproxy.cfg');
      for (const [name, text] of [
        ...shipped.map((f) => [f, readFileSync(join(dirname(COMPOSE_HAPROXY_FILE), f), 'utf8')] as const),
        ['local.cfg', local] as const,
      ]) {
        const file = join(dir, name);
        writeFileSync(file, text);
        const result = checkHaproxyConfig(file, haproxy);
        expect(result.output).toMatch(/Configuration file is valid/);
        expect(result.ok, result.output).toBe(true);
      }
    },
  );

  it('is exactly the template rendered for compose (regenerate: npm run cluster -- --write-compose-haproxy)', () => {
    expect(compose).toBe(renderComposeHaproxyConfig(template));
  });

  it('keeps every timeout a Socket.IO session lives under above PING_INTERVAL_MS + PING_TIMEOUT_MS', () => {
    const heartbeatSeconds = (DEFAULTS.PING_INTERVAL_MS + DEFAULTS.PING_TIMEOUT_MS) / 1000;
    for (const config of [compose, local]) {
      const defaults = sectionLines(config, 'defaults');
      const timeout = (name: string): number => {
        const line = defaults.find((l) => l.startsWith(`timeout ${name} `));
        if (line === undefined) throw new Error(`no "timeout ${name}" in defaults`);
        return durationSeconds(line.split(/\s+/)[2] ?? '');
      };
      for (const name of ['client', 'server', 'tunnel'])
        expect(timeout(name)).toBeGreaterThan(heartbeatSeconds);
      expect(timeout('connect')).toBeLessThan(heartbeatSeconds);
    }
  });

  it('inserts an ALB-style stickiness cookie naming each server, and checks /readyz', () => {
    for (const config of [compose, local]) {
      const backend = sectionLines(config, 'backend gateways');
      expect(backend).toContain('cookie AWSALB insert indirect nocache httponly maxidle 1d maxlife 7d');
      // Sessions of a draining node (failing /readyz) keep reaching it until the drain closes them.
      expect(backend).toContain('option persist');
      expect(backend).toContain('option httpchk GET /readyz');
      expect(backend).toContain('http-check expect status 200');
      const servers = backend.filter((l) => l.startsWith('server '));
      expect(servers).toHaveLength(3);
      for (const line of servers) {
        const [, name, , cookieKeyword, cookie] = line.split(/\s+/);
        expect([cookieKeyword, cookie]).toEqual(['cookie', name]);
      }
      expect(backend.some((l) => l.startsWith('default-server check '))).toBe(true);
      // A retried connect (the node just died) must be allowed to go to another node.
      expect(sectionLines(config, 'defaults')).toContain('option redispatch 1');
    }
  });

  it('refuses to render a template that lost a placeholder', () => {
    const servers = [{ name: 'n1', address: '127.0.0.1:1' }];
    expect(() => renderHaproxyConfig({ bind: ':1', servers, maxconn: 10 }, 'bind {{BIND}}')).toThrow(
      /no \{\{SERVERS\}\}/,
    );
    expect(() => renderHaproxyConfig({ bind: ':1', servers: [], maxconn: 10 }, template)).toThrow(
      /at least one/,
    );
  });
});
