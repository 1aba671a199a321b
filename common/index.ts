export * from './errors';
export * from './log';
export * from './paths';
export * from './terminal-text';
export * from './duration';
export * from './secret';
export * from './within';
