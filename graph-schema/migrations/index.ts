import type { Migration } from '../migration';
import { nodeKeys } from './0001-node-keys';
import { lookupIndexes } from './0002-lookup-indexes';
import { kubernetesMetadata } from './0003-kubernetes-metadata';
import { history } from './0004-history';

/** Every migration of this build, in version order. Append; never edit a released one. */
export const MIGRATIONS: readonly Migration[] = [nodeKeys, lookupIndexes, kubernetesMetadata, history];
