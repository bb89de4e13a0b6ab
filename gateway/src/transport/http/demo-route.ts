/**
 * The demo page at /demo: static files built from client-sdk/demo by the SDK's build
 * (`npm run build -w @stayline/client-sdk`; `npm start` and the e2e test setup build them when missing).
 * The gateway serves them by path and imports nothing of the SDK but the protocol. The files hold no
 * secrets: the page takes its token from its own URL.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';

/** Where the SDK build writes the demo. */
export const DEMO_DIR = fileURLToPath(new URL('../../../../client-sdk/dist/demo/', import.meta.url));

/** A router serving `dir` (default DEMO_DIR) at /demo/, or a 503 naming the build command when missing. */
export function createDemoRoute(dir: string = DEMO_DIR): Router {
  const router = express.Router();
  const files = express.static(dir, { index: 'index.html', maxAge: 0 });
  router.use('/demo', (req, res, next) => {
    if (!existsSync(join(dir, 'index.html'))) {
      res
        .status(503)
        .type('text/plain')
        .send('The demo is not built: run `npm run build -w @stayline/client-sdk`.\n');
      return;
    }
    files(req, res, next);
  });
  return router;
}
