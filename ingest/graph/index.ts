export * from './batch-processor';
export * from './decoded-message';
export * from './graph-rows';
export * from './graph-writer';
export * from './neo4j-errors';
export * from './neo4j-params';
export * from './progress';
