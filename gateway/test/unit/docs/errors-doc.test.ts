import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, ERROR_CODES } from '@stayline/client-sdk/protocol';
import {
  ADMIT_BODY_LIMIT_BYTES,
  CONFIRM_BODY_LIMIT_BYTES,
  EVENT_BODY_LIMIT_BYTES,
} from '../../../src/transport/http/service-events.ts';
import { PUBLISH_BODY_LIMIT_BYTES } from '../../../src/transport/http/service-publish.ts';
import { HTTP_STATUS } from '../../../src/errors/http-status.ts';

const ERRORS_DOC = new URL('../../../../docs/errors.md', import.meta.url);
const PROTOCOL_DOC = new URL('../../../../docs/protocol.md', import.meta.url);

interface DocRow {
  code: string;
  retryable: string;
  line: number;
}

/** The cells of a Markdown table row; `\|` inside a cell is text, not a separator. */
function cells(row: string): string[] {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

/**
 * The rows of the table under `## Codes` in docs/errors.md: every table row whose first cell is a code in
 * backticks. The header and separator rows have no backticked first cell and are skipped.
 */
function codeRows(markdown: string): DocRow[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => /^## Codes\s*$/.test(l));
  if (start < 0) throw new Error('docs/errors.md has no "## Codes" section');
  const rows: DocRow[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^#{1,2} /.test(line)) break;
    if (!line.trimStart().startsWith('|')) continue;
    const [first = '', retryable = ''] = cells(line);
    const code = /^`([^`]+)`$/.exec(first)?.[1];
    if (code !== undefined) rows.push({ code, retryable, line: i + 1 });
  }
  return rows;
}

describe('docs/errors.md', () => {
  const rows = codeRows(readFileSync(ERRORS_DOC, 'utf8'));

  it('has a row for every code of ERROR_CATALOGUE', () => {
    const documented = rows.map((r) => r.code);
    expect(ERROR_CODES.filter((code) => !documented.includes(code))).toEqual([]);
  });

  it('has no row for a code the catalogue lacks', () => {
    const known: readonly string[] = ERROR_CODES;
    expect(rows.filter((r) => !known.includes(r.code)).map((r) => `${r.code} (line ${r.line})`)).toEqual([]);
  });

  it('documents each code once', () => {
    const seen = new Set<string>();
    const twice = rows.filter((r) => (seen.has(r.code) ? true : (seen.add(r.code), false)));
    expect(twice.map((r) => `${r.code} (line ${r.line})`)).toEqual([]);
  });

  it('gives every code the retryable flag of the catalogue, as yes or no', () => {
    const wrong = rows.flatMap((r) => {
      const entry = (ERROR_CATALOGUE as Record<string, { retryable: boolean }>)[r.code];
      if (entry === undefined) return []; // reported by the first test
      const expected = entry.retryable ? 'yes' : 'no';
      return r.retryable === expected
        ? []
        : [`${r.code} (line ${r.line}): "${r.retryable}", expected "${expected}"`];
    });
    expect(wrong).toEqual([]);
  });
});

/** The `| \`CODE\` | status |` rows under `## HTTP statuses` in docs/errors.md. */
function statusRows(markdown: string): Record<string, number> {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => /^## HTTP statuses\s*$/.test(l));
  if (start < 0) throw new Error('docs/errors.md has no "## HTTP statuses" section');
  const rows: Record<string, number> = {};
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,2} /.test(line)) break;
    const [first = '', status = ''] = cells(line);
    const code = /^`([^`]+)`$/.exec(first)?.[1];
    if (code !== undefined && line.trimStart().startsWith('|')) rows[code] = Number(status);
  }
  return rows;
}

describe('docs/errors.md HTTP statuses', () => {
  it('lists every code with the status the service API answers it with', () => {
    expect(statusRows(readFileSync(ERRORS_DOC, 'utf8'))).toEqual({ ...HTTP_STATUS });
  });
});

describe('docs/protocol.md', () => {
  it('has a line for every code of ERROR_CATALOGUE', () => {
    const lines = readFileSync(PROTOCOL_DOC, 'utf8').split('\n');
    const missing = ERROR_CODES.filter((code) => !lines.some((l) => l.startsWith(`- \`${code}\``)));
    expect(missing).toEqual([]);
  });

  it("states each service route's body limit as the code has it", () => {
    const lines = readFileSync(PROTOCOL_DOC, 'utf8').split('\n');
    const start = lines.findIndex((l) => l.trim() === '| route | body limit |');
    const table = lines
      .slice(start + 1)
      .filter((l, i, all) => all.slice(0, i + 1).every((x) => x.trim().startsWith('|')));
    const row = (route: string): string =>
      table.map((l) => l.trim()).find((l) => l.startsWith(`| \`${route}\``)) ?? '';
    expect(start).toBeGreaterThan(0);
    expect(row('POST /v1/publish')).toBe(`| \`POST /v1/publish\` | ${PUBLISH_BODY_LIMIT_BYTES / 1024} KiB |`);
    expect(row('PUT /v1/events/:eventId')).toContain(
      `| ${EVENT_BODY_LIMIT_BYTES.toLocaleString('en')} bytes`,
    );
    expect(row('POST /v1/events/:eventId/seats/confirm')).toContain(
      `| ${CONFIRM_BODY_LIMIT_BYTES.toLocaleString('en')} bytes`,
    );
    expect(row('POST /v1/events/:eventId/admit')).toBe(
      `| \`POST /v1/events/:eventId/admit\` | ${ADMIT_BODY_LIMIT_BYTES / 1024} KiB |`,
    );
  });
});
