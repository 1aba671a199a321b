export * from './netns';
export * from './peer-process';
export * from './flow-store';
export * from './cli-run';
export * from './kafka-topics';
export * from './socket-holder';
export * from './pipeline-test';
export * from './root';
