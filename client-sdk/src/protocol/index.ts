/**
 * THE WIRE CONTRACT between the gateway and every client: event names, payload types, error codes.
 * Imports nothing outside this folder, so the gateway and the SDK share it without sharing code.
 */
export * from './errors.ts';
export * from './events.ts';
export * from './history.ts';
