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
 * A password from its usual layers, the first that has one: a `--…-password-file` flag, `<VAR>` or `<VAR>_FILE` in the
 * environment, `<key>.password` or `<key>.passwordFile` in a config file (`source` names it).
 */
export function resolvePassword(
  flagFile: { value?: string; flag: string },
  env: NodeJS.ProcessEnv,
  variable: string,
  file: { password?: string; passwordFile?: string; key: string; source?: string },
): string | undefined {
  const src = file.source ?? 'the config file';
  return resolveSecret([
    { file: flagFile.value, name: flagFile.flag, fileName: flagFile.flag },
    { value: env[variable], file: env[`${variable}_FILE`], name: variable, fileName: `${variable}_FILE` },
    {
      value: file.password,
      file: file.passwordFile,
      name: `${file.key}.password in ${src}`,
      fileName: `${file.key}.passwordFile in ${src}`,
    },
  ]);
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
