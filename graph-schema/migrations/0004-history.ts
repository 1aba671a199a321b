/*
 * Migration 4 — topology history and reports. Creates the keys and indexes of the history the
 * ingest records (graph-schema/README.md, "History") and of the reports written from it:
 * - `EdgeBucket.key` (one edge in one time bucket) and `EdgeHistory.key` (one edge's open
 *   connections and last bucket): the ingest MERGEs both per edge delta, so each must be one
 *   index seek and never duplicated by two transactions;
 * - `EdgeBucket(level, start)`: a window at a level is a range seek; `EdgeBucket(start)`: retention
 *   deletes by age across levels; `EdgeHistory(open)` and `(lastStart)`: the edges open and idle
 *   through a window, and retention;
 * - `ListenPeriod.key` and its `(listener)`, `(from)`, `(to)` indexes: a listener's listening
 *   periods, found by listener when it closes and by time for "new listening ports";
 * - `TopologyReport.id` and `TopologyChange.id`: a report is recorded once, whichever worker ran it.
 * Why a version of its own: a database at version 3 has a correct topology, only no history.
 */
import type { Migration } from '../migration';

export const history: Migration = {
  version: 4,
  name: 'history',
  description:
    'keys and indexes of the topology history (edge buckets, listening periods) and of topology reports',
  statements: [
    'CREATE CONSTRAINT edge_bucket_key IF NOT EXISTS FOR (n:EdgeBucket) REQUIRE n.key IS UNIQUE',
    'CREATE CONSTRAINT edge_history_key IF NOT EXISTS FOR (n:EdgeHistory) REQUIRE n.key IS UNIQUE',
    'CREATE CONSTRAINT listen_period_key IF NOT EXISTS FOR (n:ListenPeriod) REQUIRE n.key IS UNIQUE',
    'CREATE CONSTRAINT topology_report_id IF NOT EXISTS FOR (n:TopologyReport) REQUIRE n.id IS UNIQUE',
    'CREATE CONSTRAINT topology_change_id IF NOT EXISTS FOR (n:TopologyChange) REQUIRE n.id IS UNIQUE',
    'CREATE INDEX edge_bucket_level_start IF NOT EXISTS FOR (n:EdgeBucket) ON (n.level, n.start)',
    'CREATE INDEX edge_bucket_start IF NOT EXISTS FOR (n:EdgeBucket) ON (n.start)',
    'CREATE INDEX edge_history_open IF NOT EXISTS FOR (n:EdgeHistory) ON (n.open)',
    'CREATE INDEX edge_history_last_start IF NOT EXISTS FOR (n:EdgeHistory) ON (n.lastStart)',
    'CREATE INDEX listen_period_listener IF NOT EXISTS FOR (n:ListenPeriod) ON (n.listener)',
    'CREATE INDEX listen_period_from IF NOT EXISTS FOR (n:ListenPeriod) ON (n.from)',
    'CREATE INDEX listen_period_to IF NOT EXISTS FOR (n:ListenPeriod) ON (n.to)',
    'CREATE INDEX topology_report_created IF NOT EXISTS FOR (n:TopologyReport) ON (n.createdAt)',
  ],
};
