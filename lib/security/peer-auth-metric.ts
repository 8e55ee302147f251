/** The Prometheus counter of refused peer connections (mutual TLS and Raft membership checks). */
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';

/**
 * Registers `ledgermq_peer_auth_refused_total{port, reason}` in `registry`: connections, calls and
 * messages refused on a peer port (`port` "raft" on brokers, "namesrv" for registrations) because
 * they brought no valid cluster identity. Reasons: `plaintext` (no TLS where mutual TLS is
 * required), `no_certificate`, `untrusted_certificate` (not signed by the cluster CA, or expired),
 * `handshake_failed`; `missing`, `malformed_signature`, `stale`, `bad_signature`,
 * `unknown_credential` (the cluster-secret signature, lib/security/cluster-auth.ts); `not_a_member`
 * (a Raft call naming no member of the group); `malformed` (a Raft message that fails decoding).
 * One per registry.
 */
export function peerAuthRefusedCounter(registry: Registry): Counter<'port' | 'reason'> {
  return new Counter({
    name: 'ledgermq_peer_auth_refused_total',
    help: 'Connections and calls refused on a peer port for want of a valid cluster identity, by port and reason',
    labelNames: ['port', 'reason'] as const,
    registers: [registry],
  });
}
