export * from './errors';
export * from './correlation';
export * from './graph';
export * from './consumer';
export * from './history';
