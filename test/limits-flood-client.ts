/**
 * The flooding clients of test/limits-flood.test.ts, in a process of their own so that
 * copying their buffers does not slow the test's normal producer and consumer (one event loop).
 * Argument: a JSON {@link FloodPlan}. Prints one JSON line: the outcomes of each flood, in order.
 */
import { Flood, brokerSender, proxySender } from './limits-load.js';

/** What to flood: each entry one connection of its own sending `bodyBytes` messages `window` at a time. */
export interface FloodPlan {
  durationMs: number;
  intervalMs: number;
  topic: string;
  floods: Array<{ target: 'broker' | 'proxy'; address: string; bodyBytes: number; window: number }>;
}

const plan = JSON.parse(process.argv[2]) as FloodPlan;
const senders = plan.floods.map((f) => (f.target === 'broker' ? brokerSender(f.address, plan.topic, f.bodyBytes) : proxySender(f.address, plan.topic, f.bodyBytes)));
const floods = senders.map((sender, i) => new Flood(plan.floods[i].window, plan.intervalMs, sender.send));
await new Promise((resolve) => setTimeout(resolve, plan.durationMs));
const outcomes = await Promise.all(floods.map((flood) => flood.stop()));
for (const sender of senders) sender.close();
process.stdout.write(`${JSON.stringify(outcomes.map((o) => Object.fromEntries(o)))}\n`);
process.exit(0);
