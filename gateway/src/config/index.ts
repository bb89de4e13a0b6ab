/** config/: the env schema and loadConfig(); the only code that knows variable names. Imports zod and node:fs (the development secret file, REDIS_TLS_CA_FILE) only. */
export {
  loadConfig,
  ConfigError,
  type GatewayConfig,
  type LoadConfigOptions,
  type RedisSentinelConfig,
  type RedisTlsConfig,
} from './load-config.ts';
export { DEFAULT_DEV_SECRET_FILE, readOrCreateDevSecret, type DevSecret } from './dev-secret.ts';
export { envSchema, JWT_ALGORITHM_NAMES, type JwtAlgorithmName } from './schema.ts';
