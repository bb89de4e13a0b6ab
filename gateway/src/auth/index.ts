/**
 * auth/ owns token verification: the key ring (keys loaded once at start as KeyObjects, each with the
 * algorithms it may verify), the pure verifier that turns a token into a Principal or an AUTH_* error,
 * where a handshake's token may be read from, and a signer for dev tokens and tests.
 *
 * It may import config/, errors/, the protocol, node built-ins and jsonwebtoken; never socket.io or
 * express (lint enforces it), and never session/: the socket.io middleware that calls the verifier sits
 * outside this folder and hands the Principal to the rest through the typed `socket.data`.
 */
export {
  loadKeyRing,
  algorithmsForKey,
  type AuthConfig,
  type KeyRing,
  type KeySelection,
  type VerificationKey,
} from './key-ring.ts';
export {
  createTokenVerifier,
  MAX_SUBJECT_LENGTH,
  MAX_TOKEN_LENGTH,
  type Principal,
  type TokenVerifier,
  type TokenVerifierOptions,
} from './token-verifier.ts';
export { readToken, type TokenSource } from './read-token.ts';
export {
  createTokenSigner,
  loadPrivateKeyFile,
  type SignTokenInput,
  type TokenSigner,
  type TokenSignerOptions,
} from './token-signer.ts';
