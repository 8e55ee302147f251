/**
 * `ledgermq admin queryMsgByOffset | queryMsgByKey | queryMsgById` (mqadmin's commands): a stored
 * message by topic, broker group, queue and offset (a pull at that offset from the group's
 * leader), or messages by key (within a store-time range) or by message id from the message index
 * of every broker group's leader, or of one named node (`--node`: a follower answers too).
 */
import { fromMessageData } from '../client/message.js';
import type { ReceivedMessage } from '../client/message.js';
import { LedgerError } from '../common/errors.js';
import type { ClusterCommandOptions } from './cluster-commands.js';
import { print, registrations, withContext } from './cluster-commands.js';
import type { QueriedMessage__Output } from '../gen/internal/ledgermq/v1/QueriedMessage.js';

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

export interface IndexQueryOptions extends ClusterCommandOptions {
  topic: string;
  key: string;
  messageId: string;
  beginMs: number;
  endMs: number;
  maxMessages: number;
  /** `group/node` or `node`: ask that node only; empty: every group's leader. */
  node: string;
}

/** Messages by key or id, from every broker group (see the file comment); NOT_FOUND (exit 1) when none. */
export function runIndexQuery(options: IndexQueryOptions): Promise<number> {
  return withContext(options, async (context) => {
    const request = { topic: options.topic, key: options.key, messageId: options.messageId, beginMs: options.beginMs, endMs: options.endMs, maxMessages: options.maxMessages };
    const answers: Array<{ brokerGroup: string; nodeId: string; hits: QueriedMessage__Output[] }> = [];
    if (options.node !== '') {
      const node = (await registrations(context)).find((b) => b.nodeId === options.node || `${b.group}/${b.nodeId}` === options.node);
      if (!node) throw new LedgerError('NOT_FOUND', `node ${options.node} is not registered`);
      const response = await context.gateway.queryMessagesAt(node.brokerAddress, request, QUERY_TIMEOUT_MS);
      answers.push({ brokerGroup: node.group, nodeId: response.nodeId, hits: response.messages });
    } else {
      for (const group of await context.routes.groups()) {
        const response = await context.gateway.queryMessages(group.group, request, QUERY_TIMEOUT_MS);
        answers.push({ brokerGroup: group.group, nodeId: response.nodeId, hits: response.messages });
      }
    }
    const found = answers.flatMap((a) => a.hits.map((hit) => ({
      nodeId: a.nodeId,
      storeTimestampMs: Number(hit.storeTimestampMs),
      message: fromMessageData(hit.message!, a.brokerGroup, hit.queueId, Number(hit.queueOffset)),
    })));
    if (found.length === 0) throw new LedgerError('NOT_FOUND', options.key !== '' ? `no message of ${options.topic} with key ${options.key}` : `no message with id ${options.messageId}`);
    print(options, found.map((f) => ({ ...f.message, body: f.message.body.toString('base64'), storeTimestampMs: f.storeTimestampMs, answeredBy: f.nodeId })),
      ['GROUP', 'QUEUE', 'OFFSET', 'MESSAGE ID', 'TAG', 'KEYS', 'STORED', 'BODY', 'FROM'],
      found.map((f) => [f.message.brokerGroup, f.message.queueId, f.message.queueOffset, f.message.messageId, f.message.tag || '-', f.message.keys.join(' ') || '-',
        new Date(f.storeTimestampMs).toISOString(), preview(f.message.body).slice(0, 60), f.nodeId]));
  });
}
