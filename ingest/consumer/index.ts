export * from './ingest-options';
export * from './ingest-service';
export * from './ingest-stats';
export * from './message-decoder';
