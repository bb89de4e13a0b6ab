/** config/: the env schema and loadConfig(); the only code that knows variable names. Imports zod only. */
export { loadConfig, ConfigError, type GatewayConfig } from './load-config.ts';
export { envSchema, JWT_ALGORITHM_NAMES, type JwtAlgorithmName } from './schema.ts';
