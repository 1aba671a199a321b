export * from './event-consumer';
export * from './record-view';
