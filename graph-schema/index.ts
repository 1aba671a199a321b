export * from './errors';
export * from './graph-driver';
export * from './migration';
export * from './migrations';
export * from './schema-migrator';
export * from './history';
