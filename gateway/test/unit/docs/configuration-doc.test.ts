import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../../../src/config/index.ts';

const CONFIGURATION_DOC = new URL('../../../../docs/configuration.md', import.meta.url);

/**
 * The variables docs/configuration.md documents: every table row whose first cell is a SCREAMING_SNAKE
 * name in backticks, with its line number. Names mentioned in prose or code blocks do not count.
 */
function documentedVariables(markdown: string): { name: string; line: number }[] {
  const rows: { name: string; line: number }[] = [];
  let inCode = false;
  markdown.split('\n').forEach((text, i) => {
    if (text.trimStart().startsWith('```')) inCode = !inCode;
    if (inCode) return;
    const name = /^\s*\|\s*`([A-Z][A-Z0-9_]*)`\s*\|/.exec(text)?.[1];
    if (name !== undefined) rows.push({ name, line: i + 1 });
  });
  return rows;
}

describe('docs/configuration.md', () => {
  const schemaNames = Object.keys(envSchema.shape);
  const markdown = readFileSync(CONFIGURATION_DOC, 'utf8');
  const lines = markdown.split('\n');
  const documented = documentedVariables(markdown);
  const documentedNames = documented.map((d) => d.name);

  it('documents every variable of envSchema', () => {
    expect(schemaNames.filter((name) => !documentedNames.includes(name))).toEqual([]);
  });

  it('documents no variable that envSchema lacks', () => {
    expect(
      documented.filter((d) => !schemaNames.includes(d.name)).map((d) => `${d.name} (line ${d.line})`),
    ).toEqual([]);
  });

  it('documents each variable once', () => {
    const seen = new Set<string>();
    const twice = documented.filter((d) => (seen.has(d.name) ? true : (seen.add(d.name), false)));
    expect(twice.map((d) => `${d.name} (line ${d.line})`)).toEqual([]);
  });

  it('states the default of every variable that has one, as the schema applies it', () => {
    const wrong = documented.flatMap((d) => {
      const field = envSchema.shape[d.name as keyof typeof envSchema.shape] as
        { _def: { typeName?: string; defaultValue?: () => unknown } } | undefined;
      if (field?._def.typeName !== 'ZodDefault') return [];
      const raw = field._def.defaultValue?.();
      if (typeof raw !== 'string' || raw === '') return [];
      const row = lines[d.line - 1] ?? '';
      const defaultCell = row.split('|')[3]?.trim() ?? '';
      return defaultCell === `\`${raw}\`` ? [] : [`${d.name}: doc says ${defaultCell}, schema ${raw}`];
    });
    expect(wrong).toEqual([]);
  });
});
