/**
 * client-sdk/README.md against the code: the connection statuses, the options of createClient, the SDK's
 * own error codes, the React bindings and the npm commands it names. A README that drifted from the code
 * (a state table missing `idle`, an option that no longer exists) fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLIENT_ERROR_CATALOGUE, CONNECTION_STATUSES } from '../../src/index.ts';
import * as react from '../../src/react/index.ts';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const README = read('README.md');
const lines = README.split('\n');

/** The first cells of the markdown table whose header's first cell is `header`, backticks removed. */
function firstCells(header: string): string[] {
  const start = lines.findIndex((l) => new RegExp(`^\\|\\s*${header}\\s*\\|`).test(l));
  if (start < 0) throw new Error(`no table with header "${header}"`);
  const cells: string[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    cells.push(line.split('|')[1]?.trim() ?? '');
  }
  return cells;
}
const names = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');

describe('client-sdk/README.md', () => {
  it('names every connection status, in order, in the intro and the status table', () => {
    expect(firstCells('Status').flatMap(names)).toEqual([...CONNECTION_STATUSES]);
    const intro = /One observable connection state: `([^`]+)`/s.exec(README)?.[1] ?? '';
    expect(intro.split('|').map((s) => s.trim())).toEqual([...CONNECTION_STATUSES]);
    expect(Object.keys(react.DEFAULT_STATUS_LABELS).sort()).toEqual([...CONNECTION_STATUSES].sort());
  });

  it('documents exactly the options of createClient', () => {
    const source = read('src/client-options.ts');
    const body = /export interface ClientOptions \{([\s\S]*?)\n\}/.exec(source)?.[1] ?? '';
    const options = [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((m) => m[1]);
    expect(options.length).toBeGreaterThan(10);
    const documented = firstCells('Option').flatMap(names);
    expect([...documented].sort()).toEqual([...options].sort());
  });

  it("lists every SDK error code in the SDK's code table", () => {
    expect(firstCells('Code').flatMap(names).sort()).toEqual(Object.keys(CLIENT_ERROR_CATALOGUE).sort());
  });

  it('documents every React binding the package exports', () => {
    const exported = Object.keys(react).filter((k) =>
      /^(use[A-Z]|StaylineProvider$|ConnectionStatus$)/.test(k),
    );
    const documented = firstCells('Binding')
      .flatMap(names)
      .map((n) => n.replace(/^<|\/>$|\(.*$/g, ''));
    expect([...documented].sort()).toEqual([...exported].sort());
  });

  it('names only npm scripts that exist', () => {
    const sdkScripts = Object.keys((JSON.parse(read('package.json')) as { scripts: object }).scripts);
    const rootScripts = Object.keys((JSON.parse(read('../package.json')) as { scripts: object }).scripts);
    const named = [...README.matchAll(/npm run (?:-s )?(\w[\w:-]*)( -w @stayline\/client-sdk)?/g)];
    expect(named.length).toBeGreaterThan(2);
    for (const [text, script, workspace] of named) {
      expect(workspace === undefined ? rootScripts : sdkScripts, text).toContain(script);
    }
  });
});
