import { strict as assert } from 'node:assert';
import { buildProgram } from '../cli/main';

describe('nettopo CLI', () => {
  it('when asked for help, then every command has a description and its own --help', () => {
    const program = buildProgram();
    assert.match(program.helpInformation(), /Usage: nettopo/);
    for (const cmd of program.commands) {
      assert.ok(cmd.description().length > 0, `command ${cmd.name()} has no description`);
      assert.match(cmd.helpInformation(), new RegExp(`Usage: nettopo ${cmd.name()}`));
    }
  });
});
