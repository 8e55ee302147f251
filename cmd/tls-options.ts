/** TLS flags of the `ledgermq` commands, and the `certs` command (local CA and node certificate). */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { TLS_MODES } from '../lib/security/tls-config.js';
import type { ClientTlsFiles, ServerTlsFiles, TlsMode } from '../lib/security/tls-config.js';

/** Flags {@link addServerTlsOptions} adds, as commander parses them. */
export interface ServerTlsFlags {
  tlsMode: TlsMode;
  tlsCert: string;
  tlsKey: string;
  tlsCa: string;
}

/** `--tls-mode`, `--tls-cert`, `--tls-key`, `--tls-ca` on a server command. */
export function addServerTlsOptions(command: Command): Command {
  return command
    .addOption(new Option('--tls-mode <mode>', 'TLS of the gRPC ports: off, permissive (TLS and plaintext on each port), strict (TLS only)').choices(TLS_MODES).default('off'))
    .option('--tls-cert <file>', 'PEM certificate chain of this process', '')
    .option('--tls-key <file>', 'PEM private key of --tls-cert', '')
    .option('--tls-ca <file>', "PEM CA of the cluster (brokers' certificates are checked against it)", '');
}

/** The server TLS settings of parsed {@link addServerTlsOptions} flags. */
export function serverTlsFrom(flags: ServerTlsFlags): ServerTlsFiles {
  return { mode: flags.tlsMode, certFile: flags.tlsCert, keyFile: flags.tlsKey, caFile: flags.tlsCa };
}

/** Flags {@link addClientTlsOptions} adds, as commander parses them. */
export interface ClientTlsFlags {
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** `--tls`, `--tls-ca`, `--tls-cert`, `--tls-key` on a client command. */
export function addClientTlsOptions(command: Command): Command {
  return command
    .option('--tls', 'connect with TLS (implied by --tls-ca); without --tls-ca the servers are checked against the system roots')
    .option('--tls-ca <file>', 'PEM CA that signed the servers\' certificates (e.g. data/certs/ca.pem of `ledgermq up --tls`)')
    .option('--tls-cert <file>', 'PEM client certificate, for servers that ask for one')
    .option('--tls-key <file>', 'PEM private key of --tls-cert');
}

/** The client TLS settings of parsed {@link addClientTlsOptions} flags; undefined: plaintext. */
export function clientTlsFrom(flags: ClientTlsFlags): ClientTlsFiles | undefined {
  if (flags.tls !== true && flags.tlsCa === undefined && flags.tlsCert === undefined) return undefined;
  return { caFile: flags.tlsCa, certFile: flags.tlsCert, keyFile: flags.tlsKey };
}

/** `ledgermq certs`: writes a local CA and a node certificate for the given hosts. */
export function registerCertsCommand(program: Command): void {
  program
    .command('certs')
    .description('create a local CA and a node certificate (for `ledgermq up --tls`, tests, or a cluster on a few hosts)')
    .option('--dir <dir>', 'folder for ca.pem, ca-key.pem, node.pem, node-key.pem', './data/certs')
    .option('--host <host>', 'a DNS name or IP address the node certificate is valid for (repeatable; default 127.0.0.1 and localhost)', (value: string, list: string[]) => [...list, value], [] as string[])
    .option('--days <n>', 'validity in days', (value: string) => {
      const days = Number(value);
      if (!Number.isSafeInteger(days) || days < 1) throw new InvalidArgumentError('expected a positive whole number of days');
      return days;
    }, 825)
    .option('--force', 'replace certificates already in the folder (default: keep a complete set)', false)
    .action(async (flags: { dir: string; host: string[]; days: number; force: boolean }) => {
      // Loaded here only: the X.509 library is large and installs a global polyfill; servers never need it.
      const { createLocalCertificates, describeCertificate, ensureLocalCertificates } = await import('../lib/security/local-ca.js');
      const options = { hosts: flags.host.length > 0 ? flags.host : undefined, validDays: flags.days };
      const files = flags.force ? await createLocalCertificates(flags.dir, options) : await ensureLocalCertificates(flags.dir, options);
      const node = describeCertificate(files.certFile);
      console.log(`CA:   ${files.caFile} (key ${files.caKeyFile})`);
      console.log(`node: ${files.certFile} (key ${files.keyFile}), ${node.subject}, valid for ${node.altNames.join(', ')} until ${node.notAfter.toISOString()}`);
    });
}
