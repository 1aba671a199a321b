export * from './native';
export * from './native-records';
export * from './native-unavailable-error';
