/**
 * The CLI's access-control parts: `--access-key / --secret-key` (or LEDGERMQ_ACCESS_KEY /
 * LEDGERMQ_SECRET_KEY) on every admin command, and the user commands updateUser, deleteUser,
 * listUsers.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import type { Credentials } from '../lib/client/client-options.js';
import { runDeleteUser, runListUsers, runUpdateUser } from '../lib/admin/acl-commands.js';
import { clientTlsFrom } from './tls-options.js';
import type { ClientTlsFlags } from './tls-options.js';

/** Flags {@link withCredentialOptions} adds. */
export interface CredentialFlags {
  accessKey?: string;
  secretKey?: string;
}

/** Adds `--access-key` and `--secret-key` (from the environment when absent) to `command`. */
export function withCredentialOptions(command: Command): Command {
  return command
    .addOption(new Option('--access-key <ak>', 'AccessKey of an ACL user (brokers with aclEnabled; admin commands need an admin)').env('LEDGERMQ_ACCESS_KEY'))
    .addOption(new Option('--secret-key <sk>', 'SecretKey of that user').env('LEDGERMQ_SECRET_KEY'));
}

/** The credentials the flags give, undefined without them; both keys or neither. */
export function credentialsOf(flags: CredentialFlags): Credentials | undefined {
  if (!flags.accessKey && !flags.secretKey) return undefined;
  if (!flags.accessKey || !flags.secretKey) throw new InvalidArgumentError('--access-key and --secret-key go together');
  return { accessKey: flags.accessKey, secretKey: flags.secretKey };
}

const collect = (value: string, list: string[]): string[] => [...list, value];

type ChangeFlags = CredentialFlags & ClientTlsFlags & { namesrv: string; cluster: string };

/** Registers the user commands; `changeCommand` makes a command with `-n` and `-c` (and the credential flags). */
export function registerAclCommands(changeCommand: (name: string, description: string) => Command): void {
  const target = (flags: ChangeFlags): { namesrv: string[]; cluster: string; credentials: Credentials | undefined; tls: ReturnType<typeof clientTlsFrom> } => ({
    namesrv: flags.namesrv.split(';').filter(Boolean), cluster: flags.cluster, credentials: credentialsOf(flags), tls: clientTlsFrom(flags),
  });
  changeCommand('updateUser', 'create or replace an ACL user on every broker group (stored through each group\'s Raft log)')
    .requiredOption('-a, --user-access-key <ak>', "the user's AccessKey (6..128 characters)")
    .requiredOption('-s, --user-secret-key <sk>', "the user's SecretKey (6..128 characters)")
    .option('--admin', 'every permission, plus admin commands', false)
    .option('--default-topic-perm <perm>', 'for topics not listed: DENY, PUB, SUB or PUB|SUB (default DENY)')
    .option('--default-group-perm <perm>', 'for groups not listed: DENY or SUB (default SUB)')
    .option('--topic-perm <topic=perm>', 'a topic permission, e.g. Orders=PUB (repeatable)', collect, [] as string[])
    .option('--group-perm <group=perm>', 'a group permission, e.g. billing=SUB (repeatable)', collect, [] as string[])
    .action(async (flags: ChangeFlags & { userAccessKey: string; userSecretKey: string; admin: boolean; defaultTopicPerm?: string; defaultGroupPerm?: string; topicPerm: string[]; groupPerm: string[] }) => {
      process.exitCode = await runUpdateUser({
        ...target(flags), accessKey: flags.userAccessKey, secretKey: flags.userSecretKey, admin: flags.admin,
        defaultTopicPerm: flags.defaultTopicPerm, defaultGroupPerm: flags.defaultGroupPerm, topicPerms: flags.topicPerm, groupPerms: flags.groupPerm,
      });
    });
  changeCommand('deleteUser', 'delete an ACL user on every broker group')
    .requiredOption('-a, --user-access-key <ak>', "the user's AccessKey")
    .action(async (flags: ChangeFlags & { userAccessKey: string }) => {
      process.exitCode = await runDeleteUser({ ...target(flags), accessKey: flags.userAccessKey });
    });
  changeCommand('listUsers', "every broker group's ACL users and permissions (secret keys masked)")
    .option('--json', 'one JSON array per group', false)
    .action(async (flags: ChangeFlags & { json: boolean }) => {
      process.exitCode = await runListUsers({ ...target(flags), json: flags.json });
    });
}
