/**
 * reports/README.md cannot drift: its configuration examples load as the code reads them, and a
 * configuration's mistakes are named.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '../common/errors';
import { projectRoot } from '../common/paths';
import { alertsConfigOf, matches, reportsConfigOf, windowsAt } from '../reports';
import { samples } from './contract-samples';

const readme = readFileSync(join(projectRoot(), 'reports', 'README.md'), 'utf8');
const yamlBlocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]) as unknown);

describe('reports README and configuration', () => {
  it('when the README’s schedules are loaded, then both schedules are read with their windows, scope and thresholds', () => {
    const cfg = reportsConfigOf(yamlBlocks[0], '/etc/nettopo');
    assert.equal(cfg.outputDir, '/var/lib/nettopo/reports');
    assert.deepEqual(
      cfg.schedules.map((s) => [
        s.name,
        s.level,
        s.every,
        s.cron,
        s.window,
        s.baselineOffset,
        s.delay,
        s.hosts.length,
      ]),
      [
        ['hourly-pods', 'pod', 3_600_000, null, 3_600_000, 3_600_000, 120_000, 0],
        ['nightly-hosts', 'host', null, '0 6 * * *', 86_400_000, 86_400_000, 60_000, 1],
      ],
    );
    assert.equal(cfg.schedules[0].thresholds.trafficFactor, 3);
    assert.equal(cfg.schedules[0].thresholds.connectionRateFactor, 2);
    // Fired at 10:00:30 with 5-minute buckets: the hour up to 09:55 against the hour before.
    const fired = Date.UTC(2026, 10, 24, 10, 0, 30);
    const w = windowsAt(cfg.schedules[0], fired, 300_000);
    assert.deepEqual(w.after, { from: Date.UTC(2026, 10, 24, 8, 55), to: Date.UTC(2026, 10, 24, 9, 55) });
    assert.deepEqual(w.before, { from: Date.UTC(2026, 10, 24, 7, 55), to: Date.UTC(2026, 10, 24, 8, 55) });
  });

  it('when the README’s alert rules are loaded, then the token comes from the environment and a workload’s new edge to a database in payments matches exactly the two rules about it', () => {
    process.env.ALERT_TOKEN = 's3cret';
    try {
      const cfg = alertsConfigOf(yamlBlocks[1]);
      assert.equal(cfg.delivery.headers.Authorization, 'Bearer s3cret');
      assert.equal(cfg.delivery.attempts, 5);
      const change = {
        ...samples()['topology-change'],
        kind: 'edge_appeared' as const,
        before: null,
        metrics: [],
      };
      assert.deepEqual(
        cfg.rules.filter((r) => matches(r, change)).map((r) => r.name),
        ['new-edge-into-payments', 'workload-talks-to-new-database-port'],
      );
    } finally {
      delete process.env.ALERT_TOKEN;
    }
  });

  it('when a configuration has a mistake, then loading names it', () => {
    const bad: [unknown, RegExp][] = [
      [{ schedules: [{ name: 'x', level: 'pod', window: '1h' }] }, /give exactly one of every and cron/],
      [{ schedules: [{ name: 'x', level: 'pod', every: '1h', window: 'soon' }] }, /'soon' is not a duration/],
      [
        { schedules: [{ name: 'x', level: 'pod', every: '1h', window: '1h', thresholds: { trafic: 2 } }] },
        /unknown threshold 'trafic'/,
      ],
      [
        { schedules: [{ name: 'x', level: 'pod', every: '1h', window: '1h', colour: 'red' }] },
        /unknown key 'colour'/,
      ],
    ];
    for (const [raw, message] of bad)
      assert.throws(
        () => reportsConfigOf(raw),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      );
    assert.throws(
      () => alertsConfigOf({ rules: [{ name: 'r', when: { metric: 'retransmits', above: 2 } }] }),
      /unknown metric 'retransmits'/,
    );
    assert.throws(
      () => alertsConfigOf({ rules: [{ name: 'r', when: { above: 2 } }] }),
      /above\/below need a metric/,
    );
  });
});
