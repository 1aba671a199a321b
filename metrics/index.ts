export * from './bpf-stats';
export * from './component-metrics';
export * from './metrics-server';
export * from './pulled';
