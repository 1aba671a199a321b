export * from './bounded-buffer';
export * from './errors';
export * from './kafka-config';
export * from './kafka-producer';
export * from './kafka-producer-thread';
export * from './kafka-sink';
export * from './kafka-log';
export * from './kafka-probe';
