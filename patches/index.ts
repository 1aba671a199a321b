export * from './library-version';
export * from './neo4j-driver';
export { kafkajsPatches } from './kafkajs';
