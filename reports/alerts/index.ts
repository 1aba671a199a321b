export * from './alert-rules';
export * from './alert-service';
