export * from './errors';
export * from './kube-client';
export * from './kube-objects';
export * from './cluster-records';
export * from './owner-chains';
export * from './reflector';
export * from './cluster-publisher';
export * from './cluster-watcher';
