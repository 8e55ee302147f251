/** Picks and creates the host network: namespaces where the machine allows, else loopback proxies. */
import type { HostNetwork } from '../net/host-network.js';
import { NetnsNetwork, netnsUnavailableReason } from '../net/netns-network.js';
import { ProxyNetwork } from '../net/proxy-network.js';

export type ModeChoice = 'auto' | 'netns' | 'proxy';

export async function createNetwork(choice: ModeChoice, nodeIds: string[], basePort: number): Promise<HostNetwork> {
  const unavailable = choice === 'proxy' ? 'proxy mode asked for (--mode proxy)' : await netnsUnavailableReason();
  if (unavailable === null) {
    const tag = (process.pid % 60_000).toString(36);
    return NetnsNetwork.create({ nodeIds, tag, subnetIndex: 20 + (process.pid % 200) });
  }
  if (choice === 'netns') throw new Error(`network namespaces are not available: ${unavailable}`);
  return ProxyNetwork.create({ nodeIds, basePort, modeReason: `loopback with per-link TCP proxies (${unavailable})` });
}
