/**
 * The one place a schema refusal becomes text for a client, for socket acks and HTTP 400s alike: a bounded
 * summary of what was wrong, never the input echoed back. A 32 KB request with 16,000 bad elements once
 * came back as a 773 KB list of every issue; the summary names at most MAX_SUMMARY_ISSUES issues, each at
 * most MAX_ISSUE_CHARS long, and counts the rest, so the answer costs the same whatever the sender sent.
 *
 * Texts come from the schema side only: paths are the schema's field names and array indices, messages
 * are the schema authors' own or zod's fixed wording (which states the schema's bounds, not the input).
 * The two zod issues whose default message quotes the input (unknown keys, a received enum value) are
 * reworded here.
 */
import type { ZodIssue } from 'zod';
import { GatewayError } from './gateway-error.ts';

/** At most this many issues are described; the rest are counted. */
export const MAX_SUMMARY_ISSUES = 3;
/** Each described issue (path and message) is cut to this many characters. */
export const MAX_ISSUE_CHARS = 120;
/** Path segments shown per issue (deeper paths end in `…`). */
const MAX_PATH_SEGMENTS = 4;
/** A path segment shown as is; anything else (a key the sender chose, say) is shown as `?`. */
const PLAIN_SEGMENT = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;

function pathOf(path: readonly (string | number)[]): string {
  if (path.length === 0) return 'payload';
  const shown = path
    .slice(0, MAX_PATH_SEGMENTS)
    .map((segment) =>
      typeof segment === 'number' ? String(segment) : PLAIN_SEGMENT.test(segment) ? segment : '?',
    );
  return shown.join('.') + (path.length > MAX_PATH_SEGMENTS ? '.…' : '');
}

function messageOf(issue: ZodIssue): string {
  // The keys are the sender's text: count them, never repeat them.
  if (issue.code === 'unrecognized_keys')
    return issue.keys.length === 1 ? 'an unknown field' : `${issue.keys.length} unknown fields`;
  // zod's own text here ends with "received '<the sender's value>'".
  if (issue.code === 'invalid_enum_value') return 'not one of the allowed values';
  if (issue.code === 'invalid_type')
    return issue.received === 'undefined' ? 'required' : `expected ${issue.expected}, got ${issue.received}`;
  return issue.message;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * A bounded, human-readable summary of schema issues: `seatIds: at most 100 items; eventId: invalid event
 * id (+2 more)`. Costs O(MAX_SUMMARY_ISSUES) whatever the number of issues.
 */
export function summarizeIssues(issues: readonly ZodIssue[]): string {
  if (issues.length === 0) return 'invalid';
  const described = issues
    .slice(0, MAX_SUMMARY_ISSUES)
    .map((issue) => clip(`${pathOf(issue.path)}: ${messageOf(issue)}`, MAX_ISSUE_CHARS));
  const rest = issues.length - described.length;
  return described.join('; ') + (rest > 0 ? ` (+${rest} more)` : '');
}

/** Ids named in a refusal's message before the rest are counted. */
export const MAX_LISTED_IDS = 10;

/**
 * Ids for a refusal's message: the first MAX_LISTED_IDS, then a count (`A1, A2 (+98 more)`), so a message
 * about 100,000 seats stays a line. (Where the ids matter to a program they travel in a field, like
 * `seatIds`.)
 */
export function listIds(ids: readonly string[]): string {
  const shown = ids.slice(0, MAX_LISTED_IDS).join(', ');
  return ids.length > MAX_LISTED_IDS ? `${shown} (+${ids.length - MAX_LISTED_IDS} more)` : shown;
}

/** The BAD_REQUEST a schema refusal is answered with, on a socket ack or in an HTTP 400. */
export function invalidInput(issues: readonly ZodIssue[]): GatewayError {
  return new GatewayError('BAD_REQUEST', `Invalid payload (${summarizeIssues(issues)}).`);
}
