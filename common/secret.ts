import { readFileSync } from 'node:fs';
import { ConfigError } from './errors';

/** One place a secret may come from: a value, or a file holding it (a mounted Kubernetes Secret, say). */
export interface SecretSource {
  value?: string;
  file?: string;
  /** What this layer is called in errors: `NETTOPO_NEO4J_PASSWORD`, `neo4j.password in /etc/nettopo.yaml`. */
  name: string;
  /** The same for the file: `NETTOPO_NEO4J_PASSWORD_FILE`, `--neo4j-password-file`. */
  fileName: string;
}

/**
 * Reads a secret file: its whole content less one trailing newline (as `echo pw > file` writes).
 * @throws ConfigError naming the file and what it was for, never its content.
 */
export function readSecretFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
}

/**
 * The secret of the first layer that has one (layers in precedence order: flags, environment,
 * config file). A layer that gives both a value and a file is an error: which one was meant?
 * The secret itself never appears in an error.
 */
export function resolveSecret(layers: SecretSource[]): string | undefined {
  for (const layer of layers) {
    const hasValue = layer.value !== undefined && layer.value !== '';
    const hasFile = layer.file !== undefined && layer.file !== '';
    if (hasValue && hasFile) throw new ConfigError(`give ${layer.name} or ${layer.fileName}, not both`);
    if (hasValue) return layer.value;
    if (hasFile) return readSecretFile(layer.file as string, layer.fileName);
  }
  return undefined;
}
