import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import neo4j from 'neo4j-driver';
import { chromium, type BrowserContext } from 'playwright-core';
import { connectionUrls, stackConfig } from '../stack';

const CHROMIUM = '/usr/bin/chromium';

describe('Neo4j Browser on the local stack', function () {
  this.timeout(120_000);
  const config = stackConfig();
  const urls = connectionUrls(config);
  const token = `browser-${process.pid}-${Date.now()}`;
  let userDataDir: string;
  let context: BrowserContext | undefined;

  before(() => {
    userDataDir = mkdtempSync(join(tmpdir(), 'nettopo-chromium-'));
  });

  after(async () => {
    await context?.close();
    rmSync(userDataDir, { recursive: true, force: true });
    const driver = neo4j.driver(urls.neo4jBolt, neo4j.auth.basic(config.neo4j.user, config.neo4j.password));
    await driver.executeQuery('MATCH (n:BrowserProbe {token: $token}) DELETE n', { token });
    await driver.close();
  });

  it('when headless Chromium opens /browser/, then it connects to the local Bolt port and runs a Cypher query', async () => {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const bolt = `bolt://${config.host}:${config.neo4j.boltPort}`;
    await page.goto(`${urls.neo4jBrowser}?dbms=${encodeURIComponent(bolt)}&preselectAuthMethod=NO_AUTH`);

    // With auth disabled, the Browser connects by itself and says so in its :server connect frame.
    await page.getByText('You have a working connection', { exact: false }).waitFor({ timeout: 60_000 });

    const editor = page.locator('#monaco-main-editor, [data-testid="activeEditor"]').first();
    await editor.click();
    await page.keyboard.type(`CREATE (n:BrowserProbe {token: '${token}'}) RETURN n.token AS token`);
    await page.keyboard.press('Enter');
    await page.getByText('Created 1 node', { exact: false }).first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(config.dataDir, 'logs', 'neo4j-browser.png') });

    // The node the Browser created is really in the database.
    const driver = neo4j.driver(urls.neo4jBolt, neo4j.auth.basic(config.neo4j.user, config.neo4j.password));
    try {
      const { records } = await driver.executeQuery(
        'MATCH (n:BrowserProbe {token: $token}) RETURN count(n) AS c',
        {
          token,
        },
      );
      assert.equal(records[0].get('c').toNumber(), 1);
    } finally {
      await driver.close();
    }
  });
});
