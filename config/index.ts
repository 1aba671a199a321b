export * from './config-file';
export * from './config-schema';
export * from './redis-settings';
