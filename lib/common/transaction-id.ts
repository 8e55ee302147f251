/**
 * Transaction ids: `<broker group>:<message id>`. The broker group that stored a half message
 * names it, so the v2 Proxy routes EndTransaction without asking anyone.
 */

/** The transaction id of a half message stored by broker group `group`. */
export function transactionIdOf(group: string, messageId: string): string {
  return `${group}:${messageId}`;
}

/** The broker group a transaction id names, or null when it is not one of ours. */
export function brokerGroupOfTransaction(transactionId: string): string | null {
  const cut = transactionId.lastIndexOf(':');
  return cut > 0 ? transactionId.slice(0, cut) : null;
}
