import { createRequire } from 'node:module';

/**
 * Every fast path in this folder replaces a function inside a library, so it is only right for the
 * version it was checked against. {@link checkedVersion} is the gate each patch passes before it
 * installs: a different installed version (or `NETTOPO_NO_PATCHES=1`) leaves the library's own code
 * in place and says so once on stderr — slower, never broken.
 */

/** The library versions the patches were checked against (see patches/README.md). */
export const CHECKED_VERSIONS = {
  kafkajs: '2.2.4',
  'neo4j-driver': '5.28.3',
} as const;

export type PatchedLibrary = keyof typeof CHECKED_VERSIONS;

const warned = new Set<string>();

/** The installed version of a library as Node resolves it from this folder. */
export function installedVersion(library: PatchedLibrary): string {
  const req = createRequire(__filename);
  return (req(`${library}/package.json`) as { version: string }).version;
}

/**
 * Whether the patch `patch` of `library` may install: the installed version is the checked one and
 * patches are not turned off. When it may not, one warning line per library says why and that the
 * library's own code runs instead.
 */
export function checkedVersion(
  library: PatchedLibrary,
  patch: string,
  installed: string = installedVersion(library),
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.NETTOPO_NO_PATCHES === '1') return false;
  const expected = CHECKED_VERSIONS[library];
  if (installed === expected) return true;
  if (!warned.has(library)) {
    warned.add(library);
    process.stderr.write(
      `nettopo: warning: ${library} ${installed} is installed, but its fast paths were checked against ` +
        `${expected}; ${patch} and the other ${library} patches are off, ${library}'s own code runs ` +
        `(correct, slower). See patches/README.md.\n`,
    );
  }
  return false;
}
