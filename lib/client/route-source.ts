import type { TopicRoute } from '../namesrv/route-table.js';
import type { GroupSummary } from '../namesrv/route-table.js';

/**
 * Where a BrokerGateway learns routes and leaders. In `ledgermq namesrv` the Proxy shares the
 * process with a NameServer and reads its RouteTable directly; our client and the admin tool ask
 * NameServers ({@link ../client/name-server-routes.ts}).
 */
export interface RouteSource {
  /** The topic's route; throws LedgerError('TOPIC_NOT_FOUND') when no group hosts it. */
  route(topic: string): TopicRoute | Promise<TopicRoute>;
  /** Every live broker group with its current leader. */
  groups(): GroupSummary[] | Promise<GroupSummary[]>;
  /** Told that a leader it named did not answer as leader: the next lookup should ask again. */
  invalidate?(): void;
}
