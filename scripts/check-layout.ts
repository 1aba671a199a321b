/**
 * The layout rule: every folder of the pipeline is a room with a README.md whose "## May import"
 * section names, in backticks, the rooms (`contract/`) or single files (`collector/errors.ts`) its
 * TypeScript may import. A room may always import its own files and the rooms nested in it. This
 * reads every import of every TypeScript file in a room (static, `export … from`, `require`,
 * dynamic `import()`) and lists each one the README does not allow — so the one-way flow
 * kernel → addon → collector → Kafka → ingest → Neo4j → reports cannot decay unnoticed.
 *
 * Usage: `npx tsx scripts/check-layout.ts` (exits 1 and prints each violation). `test/layout.test.ts`
 * runs the same check.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { projectRoot } from '../common/paths';

/** Folders that are not rooms: everything in them may import anything. */
const FREE = new Set(['node_modules', 'dist', 'test', 'bench', '.nettopo', '.git', 'build']);

export interface Room {
  /** Folder relative to the project root, with a trailing slash (`collector/kernel/`). */
  path: string;
  /** Rooms (`x/`) and files (`x/y.ts`) it may import besides itself and the rooms nested in it. */
  mayImport: string[];
}

export interface Violation {
  file: string;
  specifier: string;
  target: string;
  room: string;
}

/** The `## May import` entries of a README. */
export function parseMayImport(readme: string): string[] | undefined {
  const m = /^## May import\s*\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme);
  if (!m) return undefined;
  return [...m[1].matchAll(/`([a-z0-9-]+\/(?:[a-z0-9-]+\/)*(?:[a-z0-9.-]+\.ts)?)`/g)].map((x) => x[1]);
}

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    if (FREE.has(name) || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
}

/** Every room of the project and every TypeScript file that lives in one. */
export function readLayout(root = projectRoot()): { rooms: Room[]; files: string[]; unhoused: string[] } {
  const all: string[] = [];
  walk(root, all);
  const rooms: Room[] = [];
  for (const f of all.filter((p) => p.endsWith(`${sep}README.md`) && dirname(p) !== root)) {
    const mayImport = parseMayImport(readFileSync(f, 'utf8'));
    const path = relative(root, dirname(f)) + '/';
    if (mayImport === undefined) throw new Error(`${path}README.md has no "## May import" section`);
    rooms.push({ path, mayImport });
  }
  const files = all.filter((p) => /\.ts$/.test(p) && !p.endsWith('.d.ts') && dirname(p) !== root);
  const unhoused = files.filter((f) => !roomOf(rooms, relative(root, f)));
  return { rooms, files, unhoused: unhoused.map((f) => relative(root, f)) };
}

function roomOf(rooms: Room[], file: string): Room | undefined {
  let best: Room | undefined;
  for (const r of rooms) if (file.startsWith(r.path) && (!best || r.path.length > best.path.length)) best = r;
  return best;
}

function resolveImport(fromFile: string, specifier: string): string | undefined {
  const base = resolve(dirname(fromFile), specifier);
  for (const c of [`${base}.ts`, join(base, 'index.ts'), base])
    if (existsSync(c) && statSync(c).isFile()) return c;
  return undefined;
}

/** Whether `room` may import `target` (a project-relative file). */
function allowed(rooms: Room[], room: Room, target: string): boolean {
  const targetRoom = roomOf(rooms, target);
  if (!targetRoom) return false;
  if (targetRoom.path.startsWith(room.path)) return true; // itself or a room nested in it
  return room.mayImport.some((entry) =>
    entry.endsWith('/') ? targetRoom.path.startsWith(entry) : target === entry,
  );
}

/** The imports that break a room's rule; `extra` adds files (path → source) for self-tests. */
export function checkLayout(root = projectRoot(), extra: Record<string, string> = {}): Violation[] {
  const { rooms, files } = readLayout(root);
  const sources = new Map<string, string>(files.map((f) => [relative(root, f), readFileSync(f, 'utf8')]));
  for (const [file, source] of Object.entries(extra)) sources.set(file, source);
  const violations: Violation[] = [];
  for (const [file, source] of sources) {
    const room = roomOf(rooms, file);
    if (!room) continue;
    for (const imp of ts.preProcessFile(source, true, true).importedFiles) {
      if (!imp.fileName.startsWith('.')) continue;
      const resolved = resolveImport(join(root, file), imp.fileName);
      if (!resolved) continue; // tsc reports it
      const target = relative(root, resolved);
      if (!allowed(rooms, room, target))
        violations.push({ file, specifier: imp.fileName, target, room: room.path });
    }
  }
  return violations;
}

if (require.main === module) {
  const { rooms, unhoused } = readLayout();
  const violations = checkLayout();
  for (const v of violations)
    console.log(`${v.file}: imports '${v.specifier}' (${v.target}), which ${v.room}README.md does not allow`);
  for (const f of unhoused) console.log(`${f}: not in any room (no README.md with "## May import" above it)`);
  console.log(
    `${rooms.length} rooms, ${violations.length} forbidden imports, ${unhoused.length} files outside a room`,
  );
  process.exit(violations.length || unhoused.length ? 1 : 0);
}
