/** Picks and creates the host network: namespaces where the machine allows, else loopback proxies. */
import type { HostNetwork } from '../net/host-network.js';
import { NetnsNetwork, netnsUnavailableReason } from '../net/netns-network.js';
import { ProxyNetwork } from '../net/proxy-network.js';

export type ModeChoice = 'auto' | 'netns' | 'proxy';

export async function createNetwork(choice: ModeChoice, nodeIds: string[], basePort: number): Promise<HostNetwork> {
  const unavailable = choice === 'proxy' ? 'proxy mode asked for (--mode proxy)' : await netnsUnavailableReason();
  let failure = unavailable;
  if (unavailable === null) {
    // A few subnets in turn: another run (or anything else) may hold the first.
    for (let attempt = 0; attempt < 4; attempt++) {
      const tag = ((process.pid * 4 + attempt) % 60_000).toString(36);
      try {
        return await NetnsNetwork.create({ nodeIds, tag, subnetIndex: 20 + ((process.pid + attempt * 53) % 200) });
      } catch (error) {
        failure = `creating network namespaces failed: ${(error as Error).message.split('\n')[0]}`;
      }
    }
  }
  if (choice === 'netns') throw new Error(`network namespaces are not available: ${failure}`);
  return ProxyNetwork.create({ nodeIds, basePort, modeReason: `loopback with per-link TCP proxies (${failure})` });
}
