export * from './address';
export * from './connection-correlator';
export * from './connection-model';
export * from './connection-state-codec';
