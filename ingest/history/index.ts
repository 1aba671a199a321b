export * from './history-writer';
