export * from './bolt-chunking';
export * from './bolt-primitives';
