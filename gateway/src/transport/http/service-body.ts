/**
 * How the service API reads a body, after service-auth.ts admitted the call: identity-encoded UTF-8 JSON
 * only (415 MESSAGE_ENCODING_UNSUPPORTED otherwise: no inflating, no transcoding), at most the route's own
 * limit (413 MESSAGE_TOO_LARGE), well-formed (400 BAD_REQUEST). Each route passes the limit its body needs;
 * the refusals are answered by service-errors.ts.
 */
import express, { type Request, type RequestHandler } from 'express';

/** `charset=` of a Content-Type header, lower-cased, unquoted; undefined when absent. */
function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType ?? '');
  return match === null ? undefined : (match[1] ?? match[2] ?? '').toLowerCase();
}

/**
 * Why the body's encoding is refused, or undefined when it is identity-encoded UTF-8. Compressed bodies
 * are refused rather than inflated (a small gzip body can inflate to the whole limit and more CPU than its
 * size suggests), and only UTF-8 is read (RFC 8259 §8.1: JSON between systems is UTF-8).
 */
function unsupportedEncoding(req: Request): string | undefined {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity')
    return 'Content-Encoding is not supported: send the body uncompressed.';
  const charset = charsetOf(req.headers['content-type']);
  if (charset !== undefined && charset !== 'utf-8')
    return 'Only UTF-8 JSON is accepted: send charset=utf-8 or no charset.';
  return undefined;
}

/** The `type` of jsonBody's own encoding refusal, so service-errors.ts may show its message. */
export const ENCODING_REFUSED = 'stayline.encoding';

/**
 * Reads a JSON body of at most `limitBytes` into `req.body` (after requireServiceToken). Refuses a
 * compressed or non-UTF-8 body with 415 before reading it.
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const checkEncoding: RequestHandler = (req, _res, next) => {
    const why = unsupportedEncoding(req);
    if (why === undefined) return next();
    // Shaped like body-parser's own 415, so service-errors.ts reads both the same way.
    next(Object.assign(new Error(why), { status: 415, expose: true, type: ENCODING_REFUSED }));
  };
  // inflate: false makes body-parser itself refuse any encoding but identity (415) should one get past.
  return [checkEncoding, express.json({ limit: limitBytes, inflate: false, strict: true })];
}
