export * from './errors';
export * from './kernel';
export * from './attribution';
export * from './flows';
export * from './publishing';
