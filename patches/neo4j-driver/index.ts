export * from './bolt-chunking';
export * from './bolt-primitives';
export * from './bolt-tcp-nodelay';
