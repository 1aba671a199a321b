export * from './netns';
export * from './peer-process';
export * from './flow-store';
