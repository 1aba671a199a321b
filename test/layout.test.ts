/**
 * The house keeps its shape: every room's imports are the ones its README allows
 * (scripts/check-layout.ts), so the one-way flow cannot silently decay.
 */
import { strict as assert } from 'node:assert';
import { checkLayout, parseMayImport, readLayout } from '../scripts/check-layout';

describe('layout: one-way imports between rooms', () => {
  it('when every TypeScript file is read, then each lives in a room and imports only what its README allows', () => {
    const { rooms, unhoused } = readLayout();
    assert.deepEqual(unhoused, [], 'files outside any room');
    assert.ok(rooms.length >= 14, `${rooms.length} rooms`);
    assert.deepEqual(checkLayout(), []);
  });

  it('when the contract imports the collector, then the check names the file, the import and the room', () => {
    const violations = checkLayout(undefined, {
      'contract/planted.ts': "import { CollectorRun } from '../collector';\nexport const x = CollectorRun;\n",
    });
    assert.deepEqual(violations, [
      {
        file: 'contract/planted.ts',
        specifier: '../collector',
        target: 'collector/index.ts',
        room: 'contract/',
      },
    ]);
  });

  it('when the ingest reaches into the collector or a lower room into a higher one, then each import is reported', () => {
    const violations = checkLayout(undefined, {
      'ingest/correlation/planted.ts': "export { Enricher } from '../../collector/attribution/enricher';\n",
      'kafka/planted.ts': "const m = require('../ingest');\nexport default m;\n",
      'ingest/graph/planted.ts': "export const load = () => import('../consumer/ingest-service');\n",
    });
    assert.deepEqual(violations.map((v) => `${v.file} → ${v.target}`).sort(), [
      'ingest/correlation/planted.ts → collector/attribution/enricher.ts',
      'ingest/graph/planted.ts → ingest/consumer/ingest-service.ts',
      'kafka/planted.ts → ingest/index.ts',
    ]);
  });

  it('when a README lists rooms and files in backticks, then those are what the room may import', () => {
    const readme =
      '# x\n\ntext `not/a-rule/`\n\n## May import\n\n`common/`, `collector/errors.ts` and Node.\n\n## Next\n`kafka/`\n';
    assert.deepEqual(parseMayImport(readme), ['common/', 'collector/errors.ts']);
  });
});
