/**
 * Every `npm run <script>` the READMEs and docs name exists: in the root package.json, in the workspace a
 * `-w @stayline/<name>` points at, or (examples/starter/README.md) in the starter's own package.json. A
 * renamed script fails here instead of in a newcomer's terminal.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const scriptsOf = (packageJson: string): string[] =>
  Object.keys((JSON.parse(read(packageJson)) as { scripts?: Record<string, string> }).scripts ?? {});
const WORKSPACES: Record<string, string> = {
  '@stayline/client-sdk': 'client-sdk/package.json',
  '@stayline/gateway': 'gateway/package.json',
  '@stayline/loadtest': 'loadtest/package.json',
};

const docs = [
  'README.md',
  'client-sdk/README.md',
  'loadtest/README.md',
  ...readdirSync(new URL('docs/', root))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

describe('npm scripts named in the docs', () => {
  it.each(docs)('%s names only scripts that exist', (doc) => {
    const named = [...read(doc).matchAll(/npm run (?:-s )?(\w[\w:-]*)(?: -w (@stayline\/[\w-]+))?/g)];
    for (const [text, script, workspace] of named) {
      const manifest = workspace === undefined ? 'package.json' : WORKSPACES[workspace];
      expect(manifest, `${doc}: ${text}`).toBeDefined();
      expect(scriptsOf(manifest ?? ''), `${doc}: ${text}`).toContain(script);
    }
  });

  it("examples/starter/README.md names only the starter's own scripts", () => {
    const text = read('examples/starter/README.md');
    // The lines that run inside examples/starter (after its `cd`).
    const inStarter = text.slice(text.indexOf('cd examples/starter'));
    const named = [...inStarter.matchAll(/npm run (\w[\w:-]*)/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(0);
    for (const script of named) expect(scriptsOf('examples/starter/package.json')).toContain(script);
  });
});
