/**
 * The single table of status codes used on every wire of LedgerMQ.
 *
 * Values are the numeric codes of `apache.rocketmq.v2.Code`, so an internal status crosses the
 * v2 Proxy unchanged. LedgerMQ-only conditions (NOT_LEADER) use the 5xxxx range left free by v2
 * and are mapped to a v2 code by the Proxy before they reach an official client.
 */
export const StatusCode = {
  OK: 20000,
  BAD_REQUEST: 40000,
  ILLEGAL_ACCESS_POINT: 40001,
  ILLEGAL_TOPIC: 40002,
  ILLEGAL_CONSUMER_GROUP: 40003,
  ILLEGAL_MESSAGE_TAG: 40004,
  ILLEGAL_MESSAGE_KEY: 40005,
  ILLEGAL_MESSAGE_GROUP: 40006,
  ILLEGAL_MESSAGE_PROPERTY_KEY: 40007,
  INVALID_TRANSACTION_ID: 40008,
  ILLEGAL_MESSAGE_ID: 40009,
  ILLEGAL_FILTER_EXPRESSION: 40010,
  ILLEGAL_INVISIBLE_TIME: 40011,
  ILLEGAL_DELIVERY_TIME: 40012,
  INVALID_RECEIPT_HANDLE: 40013,
  MESSAGE_PROPERTY_CONFLICT_WITH_TYPE: 40014,
  UNRECOGNIZED_CLIENT_TYPE: 40015,
  MESSAGE_CORRUPTED: 40016,
  CLIENT_ID_REQUIRED: 40017,
  ILLEGAL_POLLING_TIME: 40018,
  ILLEGAL_OFFSET: 40019,
  UNAUTHORIZED: 40100,
  FORBIDDEN: 40300,
  NOT_FOUND: 40400,
  MESSAGE_NOT_FOUND: 40401,
  TOPIC_NOT_FOUND: 40402,
  CONSUMER_GROUP_NOT_FOUND: 40403,
  OFFSET_NOT_FOUND: 40404,
  REQUEST_TIMEOUT: 40800,
  PAYLOAD_TOO_LARGE: 41300,
  MESSAGE_BODY_TOO_LARGE: 41301,
  MESSAGE_BODY_EMPTY: 41302,
  PRECONDITION_FAILED: 42800,
  TOO_MANY_REQUESTS: 42900,
  REQUEST_HEADER_FIELDS_TOO_LARGE: 43100,
  MESSAGE_PROPERTIES_TOO_LARGE: 43101,
  INTERNAL_ERROR: 50000,
  INTERNAL_SERVER_ERROR: 50001,
  HA_NOT_AVAILABLE: 50002,
  NOT_IMPLEMENTED: 50100,
  PROXY_TIMEOUT: 50400,
  MASTER_PERSISTENCE_TIMEOUT: 50401,
  UNSUPPORTED: 50500,
  /** LedgerMQ only: this node is not the group's leader; the status carries a leader hint. */
  NOT_LEADER: 59001,
  /**
   * LedgerMQ only: the node's disk is under a free-space watermark, so it refuses the write
   * (RocketMQ's SERVICE_NOT_AVAILABLE "disk full"). The Proxy answers official clients
   * INTERNAL_SERVER_ERROR with the same message, as RocketMQ's Proxy does for SERVICE_NOT_AVAILABLE.
   */
  DISK_FULL: 59002,
} as const;

/** The name of a status code, e.g. `'TOPIC_NOT_FOUND'`. */
export type StatusCodeName = keyof typeof StatusCode;

/** A numeric status code from {@link StatusCode}. */
export type StatusCodeValue = (typeof StatusCode)[StatusCodeName];

const nameByValue = new Map<number, StatusCodeName>(
  (Object.entries(StatusCode) as Array<[StatusCodeName, number]>).map(([name, value]) => [value, name]),
);

/** The name for a numeric code, or `undefined` when the number is not in the table. */
export function statusCodeName(value: number): StatusCodeName | undefined {
  return nameByValue.get(value);
}

/** Codes a client may retry unchanged (possibly against another node). */
export const RETRIABLE_CODES: ReadonlySet<StatusCodeName> = new Set<StatusCodeName>([
  'TOO_MANY_REQUESTS',
  'INTERNAL_SERVER_ERROR',
  'HA_NOT_AVAILABLE',
  'PROXY_TIMEOUT',
  'MASTER_PERSISTENCE_TIMEOUT',
  'REQUEST_TIMEOUT',
  'NOT_LEADER',
  // Another broker group may have space; the same group answers the same until space returns.
  'DISK_FULL',
]);
