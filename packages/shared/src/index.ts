export * from './address.js';
export * from './config.js';
export * from './ipc.js';
export * from './logger.js';
export * from './options.js';
export * from './suggest.js';
export * from './units.js';
export * from './metrics.js';
