import type { TopicRoute } from '../namesrv/route-table.js';
import type { GroupSummary } from '../namesrv/route-table.js';

/**
 * Where the Proxy learns routes and leaders. In `ledgermq namesrv` the Proxy shares the process
 * with a NameServer and reads its RouteTable directly; a standalone Proxy would use NameServers.
 */
export interface RouteSource {
  /** The topic's route; throws LedgerError('TOPIC_NOT_FOUND') when no group hosts it. */
  route(topic: string): TopicRoute | Promise<TopicRoute>;
  /** Every live broker group with its current leader. */
  groups(): GroupSummary[] | Promise<GroupSummary[]>;
}
