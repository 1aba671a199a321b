export * from './collector-publisher';
export * from './collector-run';
