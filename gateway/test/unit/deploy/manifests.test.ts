/**
 * deploy/ manifests checked against the gateway itself: variable names and values through the config
 * schema, probes against the real routes, shutdown timings against DRAIN_SECONDS, load-balancer timeouts
 * against the Engine.IO heartbeat, stickiness where long-polling needs it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULTS,
  DRAIN_TAIL_SECONDS,
  SCHEMA_NAMES,
  composeInterpolate,
  deployPath,
  dockerfileEnvNames,
  durationSeconds,
  parseEnv,
  readDeploy,
  readYaml,
  readYamlDocs,
} from './deploy-files.ts';

// Loose views of the manifests: only the fields the checks read.
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface Container {
  name: string;
  image?: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: unknown;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command?: string[] }; sleep?: { seconds?: number } } };
}
interface Deployment {
  kind: 'Deployment';
  metadata: { name: string };
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { terminationGracePeriodSeconds?: number; containers: Container[] };
    };
  };
}
interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string };
  environment?: Record<string, string | number> | string[];
  stop_grace_period?: string;
  volumes?: string[];
}

const heartbeatSeconds = (env: { PING_INTERVAL_MS: number; PING_TIMEOUT_MS: number }): number =>
  (env.PING_INTERVAL_MS + env.PING_TIMEOUT_MS) / 1000;

const expectSchemaNames = (names: readonly string[], where: string): void => {
  expect(names.length, `${where} sets no variables`).toBeGreaterThan(0);
  expect(
    names.filter((n) => !SCHEMA_NAMES.has(n)),
    `${where} uses names that are not in gateway/src/config/schema.ts`,
  ).toEqual([]);
};

describe('deploy/Dockerfile', () => {
  const text = readDeploy('Dockerfile');
  const instructions = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .filter((l) => /^\s*[A-Z]+\s/.test(l));
  const stages = instructions.filter((l) => /^FROM\s/i.test(l));
  const finalStage = instructions.slice(instructions.lastIndexOf(stages.at(-1) ?? ''));

  it('is multi-stage and runs the final stage as a non-root user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const users = finalStage.filter((l) => l.startsWith('USER '));
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^USER\s+(root|0)(:|\s|$)/);
  });

  it('health-checks /healthz on the port it exposes, and exposes PORT', () => {
    const healthcheck = finalStage.find((l) => l.startsWith('HEALTHCHECK '));
    expect(healthcheck).toMatch(/\/healthz/);
    const env = finalStage.filter((l) => l.startsWith('ENV ')).join(' ');
    const port = /PORT=(\d+)/.exec(env)?.[1];
    expect(port).toBeDefined();
    expect(finalStage).toContain(`EXPOSE ${port}`);
  });

  it('uses only variable names from the config schema, with values the schema accepts', () => {
    expectSchemaNames(dockerfileEnvNames(text), 'deploy/Dockerfile');
    const env = Object.fromEntries(
      [...finalStage.join(' ').matchAll(/\b([A-Z][A-Z0-9_]*)=(\S+)/g)].map((m) => [m[1], m[2]]),
    ) as Record<string, string>;
    expect(() => parseEnv(env)).not.toThrow();
  });

  it('starts the compiled gateway, node gateway/dist/main.js, from the repository root (see deploy-start-command test)', () => {
    const cmd = finalStage.filter((l) => l.startsWith('CMD ')).at(-1);
    expect(JSON.parse(cmd?.slice(4) ?? 'null')).toEqual([
      'node',
      '--enable-source-maps',
      'gateway/dist/main.js',
    ]);
    expect(cmd).not.toContain('tsx');
    expect(finalStage.some((l) => l.startsWith('ENTRYPOINT'))).toBe(false);
    expect(instructions.filter((l) => l.startsWith('WORKDIR ')).at(-1)).toBe('WORKDIR /app');
    // The build runs `npm run build`'s script, and what the command needs is copied into the image.
    expect(instructions).toContain('RUN node scripts/build.mjs --no-demo --quiet');
    for (const path of [
      'gateway/src',
      'client-sdk/src',
      'gateway/dist',
      'client-sdk/dist/esm',
      'package-lock.json',
    ]) {
      expect(
        instructions.some((l) => l.startsWith('COPY ') && l.includes(path)),
        path,
      ).toBe(true);
    }
    // Production dependencies only: tsx is a development dependency, so the image cannot run TypeScript.
    expect(instructions.some((l) => l.includes('npm ci --omit=dev'))).toBe(true);
  });
});

describe('deploy/docker-compose.yml', () => {
  const compose = readYaml('docker-compose.yml') as { services: Record<string, ComposeService> };
  const gateways = Object.entries(compose.services).filter(
    ([, s]) => s.build?.dockerfile === 'deploy/Dockerfile',
  );
  const envOf = (s: ComposeService): Record<string, string> =>
    Array.isArray(s.environment)
      ? Object.fromEntries(
          s.environment.map((e) => [
            e.split('=')[0] ?? '',
            composeInterpolate(e.split('=').slice(1).join('=')),
          ]),
        )
      : Object.fromEntries(
          Object.entries(s.environment ?? {}).map(([k, v]) => [k, composeInterpolate(String(v))]),
        );

  it('runs three gateway nodes from deploy/Dockerfile, Redis, and HAProxy with the checked config', () => {
    expect(gateways.map(([name]) => name)).toEqual(['gateway-1', 'gateway-2', 'gateway-3']);
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['redis', 'haproxy']));
    const haproxy = compose.services['haproxy'];
    const mount = haproxy?.volumes?.find((v) => v.includes('haproxy.cfg'));
    expect(mount).toBe('./haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    expect(existsSync(deployPath('haproxy/haproxy.cfg'))).toBe(true);
  });

  it('gives each node schema-valid variables, its own NODE_ID, and Redis', () => {
    const ids = new Set<string>();
    for (const [name, service] of gateways) {
      const env = envOf(service);
      expectSchemaNames(Object.keys(env), `docker-compose.yml ${name}`);
      const parsed = parseEnv(env);
      expect(parsed.NODE_ID).toBe(name);
      ids.add(name);
      expect(parsed.REDIS_URL).toBe('redis://redis:6379');
      expect(parsed.NODE_ENV).toBe('production');
    }
    expect(ids.size).toBe(3);
  });

  it('lets a node finish its drain before Docker kills it', () => {
    for (const [name, service] of gateways) {
      const parsed = parseEnv(envOf(service));
      const grace = durationSeconds(service.stop_grace_period ?? '10s', 's');
      expect(grace, `${name} stop_grace_period`).toBeGreaterThanOrEqual(
        parsed.DRAIN_SECONDS + DRAIN_TAIL_SECONDS,
      );
    }
  });
});

describe('deploy/k8s', () => {
  const docs = ['namespace.yaml', 'deployment.yaml', 'service.yaml', 'pdb.yaml', 'ingress.yaml'].flatMap(
    (f) => readYamlDocs(`k8s/${f}`),
  ) as {
    kind: string;
    metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  }[];
  const byKind = (kind: string) => {
    const found = docs.filter((d) => d.kind === kind);
    expect(found, kind).toHaveLength(1);
    return found[0] as unknown;
  };
  const deployment = byKind('Deployment') as Deployment;
  const container = deployment.spec.template.spec.containers.find((c) => c.name === 'gateway');
  if (container === undefined) throw new Error('deployment.yaml has no container "gateway"');
  const literalEnv = Object.fromEntries(
    (container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value ?? '']),
  );
  const env = parseEnv(literalEnv);
  const preStopSeconds = ((): number => {
    const preStop = container.lifecycle?.preStop;
    if (preStop?.sleep?.seconds !== undefined) return preStop.sleep.seconds;
    const command = preStop?.exec?.command ?? [];
    if (command[0] === 'sleep' && command.length === 2) return Number(command[1]);
    throw new Error(`preStop is not a sleep: ${JSON.stringify(preStop)}`);
  })();
  const annotations = (byKind('Ingress') as { metadata: { annotations: Record<string, string> } }).metadata
    .annotations;
  const attributes = (key: string): Record<string, string> =>
    Object.fromEntries((annotations[key] ?? '').split(',').map((kv) => kv.split('=') as [string, string]));

  it('lists every manifest in kustomization.yaml, all in one namespace', () => {
    const kustomization = readYaml('k8s/kustomization.yaml') as { resources: string[] };
    expect(kustomization.resources.sort()).toEqual(
      ['namespace.yaml', 'deployment.yaml', 'service.yaml', 'pdb.yaml', 'ingress.yaml'].sort(),
    );
    const namespaces = new Set(docs.filter((d) => d.kind !== 'Namespace').map((d) => d.metadata.namespace));
    expect([...namespaces]).toEqual([(byKind('Namespace') as { metadata: { name: string } }).metadata.name]);
  });

  it('names only schema variables, all visible (no envFrom), with values the schema accepts', () => {
    expect(container.envFrom).toBeUndefined();
    expectSchemaNames(
      (container.env ?? []).map((e) => e.name),
      'deploy/k8s/deployment.yaml',
    );
    expect(env.NODE_ENV).toBe('production');
    // Each pod its own NODE_ID: the pod name.
    expect(container.env?.find((e) => e.name === 'NODE_ID')?.valueFrom).toEqual({
      fieldRef: { fieldPath: 'metadata.name' },
    });
    expect(container.env?.find((e) => e.name === 'JWT_SECRET')?.valueFrom).toHaveProperty('secretKeyRef');
    expect(String(env.PORT)).toBe(String(container.ports?.find((p) => p.name === 'http')?.containerPort));
  });

  it('probes readiness on /readyz and liveness on /healthz, on the http port', () => {
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    if (container.startupProbe) expect(container.startupProbe.httpGet?.path).toBe('/healthz');
  });

  it('gives the pod longer than preStop + DRAIN_SECONDS (+ the ack grace) to stop', () => {
    const grace = deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30;
    expect(env.DRAIN_SECONDS).toBe(DEFAULTS.DRAIN_SECONDS);
    expect(preStopSeconds).toBeGreaterThan(0);
    expect(grace).toBeGreaterThan(preStopSeconds + env.DRAIN_SECONDS + DRAIN_TAIL_SECONDS);
  });

  it('selects the pods from the Service and the PodDisruptionBudget, and allows one disruption', () => {
    const labels = deployment.spec.template.metadata.labels;
    expect(labels).toMatchObject(deployment.spec.selector.matchLabels);
    const service = byKind('Service') as {
      metadata: { name: string };
      spec: { selector: Record<string, string>; ports: { name: string; targetPort: string | number }[] };
    };
    expect(labels).toMatchObject(service.spec.selector);
    expect(service.spec.ports.find((p) => p.name === 'http')?.targetPort).toBe('http');
    const pdb = byKind('PodDisruptionBudget') as {
      spec: {
        maxUnavailable?: number;
        minAvailable?: number;
        selector: { matchLabels: Record<string, string> };
      };
    };
    expect(labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(deployment.spec.replicas ?? 1).toBeGreaterThan(1);
  });

  it('routes the ALB to pod IPs with lb_cookie stickiness and /readyz health checks', () => {
    expect(annotations['alb.ingress.kubernetes.io/target-type']).toBe('ip');
    expect(annotations['alb.ingress.kubernetes.io/healthcheck-path']).toBe('/readyz');
    const tg = attributes('alb.ingress.kubernetes.io/target-group-attributes');
    expect(tg['stickiness.enabled']).toBe('true');
    expect(tg['stickiness.type']).toBe('lb_cookie');
    expect(Number(tg['stickiness.lb_cookie.duration_seconds'])).toBeGreaterThanOrEqual(3600);
    const interval = Number(annotations['alb.ingress.kubernetes.io/healthcheck-interval-seconds']);
    expect(interval).toBeGreaterThan(
      Number(annotations['alb.ingress.kubernetes.io/healthcheck-timeout-seconds']),
    );
    const ingress = byKind('Ingress') as {
      spec: {
        rules: { http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }[];
      };
    };
    const backend = ingress.spec.rules[0]?.http.paths[0]?.backend.service;
    expect(backend).toEqual({ name: 'stayline-gateway', port: { name: 'http' } });
  });

  it('sets the ALB idle timeout above the heartbeat and the deregistration delay to cover the drain', () => {
    const idle = Number(
      attributes('alb.ingress.kubernetes.io/load-balancer-attributes')['idle_timeout.timeout_seconds'],
    );
    expect(idle).toBeGreaterThan(heartbeatSeconds(env));
    expect(heartbeatSeconds(env)).toBe(heartbeatSeconds(DEFAULTS));
    const delay = Number(
      attributes('alb.ingress.kubernetes.io/target-group-attributes')['deregistration_delay.timeout_seconds'],
    );
    // Open websockets stay up through the drain, and the target is gone before the pod is killed.
    expect(delay).toBeGreaterThanOrEqual(preStopSeconds + env.DRAIN_SECONDS + DRAIN_TAIL_SECONDS - 1);
    expect(delay).toBeLessThanOrEqual(deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30);
  });
});

describe('deploy/nginx/nginx.conf', () => {
  const text = readDeploy('nginx/nginx.conf');
  const directive = (name: string): string[] =>
    [...text.matchAll(new RegExp(`^\\s*${name}\\s+([^;]+);`, 'gm'))].map((m) => (m[1] ?? '').trim());

  it('passes the websocket upgrade and keeps proxy timeouts above the heartbeat', () => {
    expect(directive('proxy_http_version')).toEqual(['1.1']);
    expect(directive('proxy_set_header')).toEqual(
      expect.arrayContaining(['Upgrade $http_upgrade', 'Connection $connection_upgrade']),
    );
    for (const name of ['proxy_read_timeout', 'proxy_send_timeout']) {
      const [value] = directive(name);
      expect(durationSeconds(value ?? '', 's'), name).toBeGreaterThan(heartbeatSeconds(DEFAULTS));
    }
  });

  it('is sticky by a load-balancer cookie it sets itself', () => {
    expect(directive('hash')).toEqual(['$stayline_lb_key consistent']);
    expect(text).toMatch(
      /map \$cookie_STAYLINELB \$stayline_lb_key \{\s+''\s+\$request_id;\s+default \$cookie_STAYLINELB;/,
    );
    // (the quoted value holds `;`, so this one is matched on the raw text)
    expect(text).toMatch(
      /^\s*add_header Set-Cookie "STAYLINELB=\$stayline_lb_key; Path=\/; [^"]*" always;$/m,
    );
  });

  const nginx = ['nginx', '/usr/sbin/nginx'].find((b) => spawnSync(b, ['-v']).status === 0);
  it.skipIf(nginx === undefined)('passes `nginx -t` (with the compose host names made local)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stayline-nginx-check-'));
    try {
      const file = join(dir, 'nginx.conf');
      writeFileSync(file, text.replace(/server gateway-(\d):3000/g, 'server 127.0.0.1:3000$1'));
      const result = spawnSync(
        nginx ?? 'nginx',
        ['-t', '-p', dir, '-c', file, '-g', `pid ${dir}/nginx.pid;`],
        {
          encoding: 'utf8',
        },
      );
      expect(result.status, result.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
