export * from './flow-collector';
export * from './flow-output';
