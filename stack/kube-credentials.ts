import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { MissingToolError } from './errors';
import { stackPaths, type StackConfig } from './stack-config';
import { which } from './tools';

/** Files of the local API server's credentials, all under `<data dir>/kube/` and readable by their owner only. */
export interface KubeFiles {
  dir: string;
  /** The CA that signed the serving certificate (what clients trust). */
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  /** The key pair signing and checking service-account tokens. */
  serviceAccountKey: string;
  serviceAccountPub: string;
  /** kube-apiserver's --token-auth-file: the admin's static token. */
  tokenFile: string;
  /** The admin token alone (for scripts). */
  token: string;
  /** A kubeconfig for clients: the server's URL, the CA, the admin token. */
  kubeconfig: string;
  etcdData: string;
}

/** The user the static token authenticates, a member of system:masters (every permission). */
export const KUBE_ADMIN_USER = 'nettopo-admin';

export function kubeFiles(config: StackConfig): KubeFiles {
  const dir = stackPaths(config).kube;
  const pki = join(dir, 'pki');
  return {
    dir,
    caCert: join(pki, 'ca.crt'),
    caKey: join(pki, 'ca.key'),
    servingCert: join(pki, 'apiserver.crt'),
    servingKey: join(pki, 'apiserver.key'),
    serviceAccountKey: join(pki, 'sa.key'),
    serviceAccountPub: join(pki, 'sa.pub'),
    tokenFile: join(pki, 'tokens.csv'),
    token: join(pki, 'token'),
    kubeconfig: join(dir, 'kubeconfig'),
    etcdData: join(dir, 'etcd'),
  };
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Creates what is missing of the API server's credentials (a CA, a serving certificate for
 * 127.0.0.1 and the in-cluster names, a service-account key pair, a random admin token), keeping
 * those that exist so that tokens stay valid across restarts, and writes the kubeconfig for the
 * configured port. Folders are 0700 and files 0600.
 */
export function ensureKubeCredentials(config: StackConfig): KubeFiles {
  const f = kubeFiles(config);
  const pki = join(f.dir, 'pki');
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  chmodSync(f.dir, 0o700);
  chmodSync(pki, 0o700);
  const needed = [f.caCert, f.caKey, f.servingCert, f.servingKey, f.serviceAccountKey, f.serviceAccountPub];
  if (needed.some((p) => !existsSync(p))) {
    if (!which('openssl'))
      throw new MissingToolError(
        "openssl not found (it makes the local API server's keys; apt-get install openssl)",
      );
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(
      ['req', '-x509', ...ec, '-keyout', f.caKey, '-out', f.caCert, '-days', '3650'].concat([
        '-subj',
        '/CN=nettopo-local-kube-ca',
      ]),
    );
    const csr = join(pki, 'apiserver.csr');
    const ext = join(pki, 'apiserver.ext');
    const names = [
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ];
    writeFileSync(
      ext,
      `subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,${names.map((n) => `DNS:${n}`).join(',')}\n` +
        'extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n',
    );
    openssl(['req', ...ec, '-keyout', f.servingKey, '-out', csr, '-subj', '/CN=kube-apiserver']);
    openssl(
      ['x509', '-req', '-in', csr, '-CA', f.caCert, '-CAkey', f.caKey, '-CAcreateserial'].concat([
        '-out',
        f.servingCert,
        '-days',
        '3650',
        '-extfile',
        ext,
      ]),
    );
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
    rmSync(join(pki, 'ca.srl'), { force: true });
    openssl([
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      'rsa_keygen_bits:2048',
      '-out',
      f.serviceAccountKey,
    ]);
    openssl(['pkey', '-in', f.serviceAccountKey, '-pubout', '-out', f.serviceAccountPub]);
  }
  if (!existsSync(f.token) || !existsSync(f.tokenFile)) {
    const token = randomBytes(32).toString('hex');
    writeFileSync(f.token, `${token}\n`, { mode: 0o600 });
    // token,user,uid,"group1,group2"
    writeFileSync(f.tokenFile, `${token},${KUBE_ADMIN_USER},${KUBE_ADMIN_USER},"system:masters"\n`, {
      mode: 0o600,
    });
  }
  writeFileSync(f.kubeconfig, kubeconfigText(config, f), { mode: 0o600 });
  for (const p of [...needed, f.token, f.tokenFile, f.kubeconfig]) chmodSync(p, 0o600);
  return f;
}

/** The admin token (after {@link ensureKubeCredentials}). */
export function kubeAdminToken(config: StackConfig): string {
  return readFileSync(kubeFiles(config).token, 'utf8').trim();
}

function kubeconfigText(config: StackConfig, f: KubeFiles): string {
  const name = 'nettopo-local';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: {
          server: `https://${config.host}:${config.kube.apiserverPort}`,
          'certificate-authority-data': readFileSync(f.caCert).toString('base64'),
        },
      },
    ],
    users: [{ name: KUBE_ADMIN_USER, user: { token: readFileSync(f.token, 'utf8').trim() } }],
    contexts: [{ name, context: { cluster: name, user: KUBE_ADMIN_USER } }],
    'current-context': name,
  });
}
