export * from './history-reader';
export * from './report-model';
export * from './thresholds';
