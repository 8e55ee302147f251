/**
 * `ledgermq admin queryMsgByOffset`: one stored message by topic, broker group, queue and offset
 * (mqadmin's command of the same name), read with a pull at that offset from the group's leader.
 * Query by message id or key needs the message index (issue 7) and is not offered yet.
 */
import { fromMessageData } from '../client/message.js';
import type { ReceivedMessage } from '../client/message.js';
import { LedgerError } from '../common/errors.js';
import type { ClusterCommandOptions } from './cluster-commands.js';
import { print, withContext } from './cluster-commands.js';

/** The group name the admin tool pulls as (pulls do not need the group to exist). */
const ADMIN_GROUP = 'ledgermq_admin_query';
const QUERY_TIMEOUT_MS = 5_000;
/** Body bytes shown in the table (the JSON output carries the whole body, base64). */
const BODY_PREVIEW_BYTES = 256;

export interface QueryByOffsetOptions extends ClusterCommandOptions {
  topic: string;
  brokerGroup: string;
  queueId: number;
  offset: number;
}

/** A body as text when it is printable UTF-8, else as base64. */
function preview(body: Buffer): string {
  const head = body.subarray(0, BODY_PREVIEW_BYTES);
  const text = head.toString('utf8');
  // eslint-disable-next-line no-control-regex -- control characters mark binary bodies
  const printable = !/[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text);
  const shown = printable ? text : `base64:${head.toString('base64')}`;
  return body.length > BODY_PREVIEW_BYTES ? `${shown}... (${body.length} bytes)` : shown;
}

function rows(message: ReceivedMessage): Array<[string, string]> {
  return [
    ['topic', message.topic], ['broker group', message.brokerGroup], ['queue', String(message.queueId)], ['offset', String(message.queueOffset)],
    ['message id', message.messageId], ['tag', message.tag || '-'], ['keys', message.keys.join(' ') || '-'], ['message group', message.messageGroup || '-'],
    ['born', `${new Date(message.bornTimestampMs).toISOString()} at ${message.bornHost}`],
    ...Object.entries(message.properties).map(([key, value]): [string, string] => [`property ${key}`, value]),
    ['body', preview(message.body)],
  ];
}

/** See the file comment. NOT_FOUND (exit 1) when nothing is stored at that offset. */
export function runQueryMsgByOffset(options: QueryByOffsetOptions): Promise<number> {
  return withContext(options, async (context) => {
    const response = await context.gateway.pull(options.brokerGroup, {
      group: ADMIN_GROUP, topic: options.topic, queueId: options.queueId, offset: options.offset, maxMessages: 1, pollTimeoutMs: 0, resetVersion: -1,
    }, QUERY_TIMEOUT_MS);
    const found = response.messages.find((m) => Number(m.queueOffset) === options.offset);
    if (!found?.message) {
      throw new LedgerError('NOT_FOUND', `no message at ${options.topic} ${options.brokerGroup}/${options.queueId} offset ${options.offset} (queue holds ${response.minOffset}..${Number(response.maxOffset) - 1})`);
    }
    const message = fromMessageData(found.message, options.brokerGroup, options.queueId, options.offset);
    print(options, { ...message, body: message.body.toString('base64') }, ['FIELD', 'VALUE'], rows(message));
  });
}
