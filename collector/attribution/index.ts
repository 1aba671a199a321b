export * from './cgroup-resolver';
export * from './container-info';
export * from './enricher';
export * from './host-info';
export * from './netns-addresses';
export * from './proc-files';
export * from './process-info';
export * from './process-resolver';
