/**
 * The JSON summary of one harness run (`summary.json`), also the input of the HTML report.
 * Times are milliseconds since the run started.
 */

/** How the nodes were separated: real network namespaces, or loopback with per-link TCP proxies. */
export type HostMode = 'netns' | 'proxy';

/** One checker's verdict. `valid: false` for lost, unexpected, order and divergence fails the run. */
export interface CheckerResult {
  name: 'lost' | 'unexpected' | 'duplicated' | 'order' | 'divergence' | 'availability' | 'crashes' | 'harness';
  valid: boolean;
  /** One line for the table: what was found, with counts. */
  summary: string;
  /** How many problems (lost messages, reorderings...); 0 when valid. */
  count: number;
  /** Up to 20 examples (ids, offsets...) for the reader. */
  examples: string[];
  /** Checker-specific figures (rates, indexes, milliseconds). */
  figures: Record<string, number | string>;
}

/** A fault window: from a nemesis start to its stop. */
export interface FaultWindow {
  fault: string;
  /** What the nemesis said it did (`kill-leader`, `n1 | n0 n2`, `cut 1234 bytes off ...`). */
  detail?: string;
  targets: string[];
  startMs: number;
  /** Null if the fault was never stopped (the run ended first: a bug in the schedule). */
  endMs: number | null;
}

/** A time without any successful send or receive. */
export interface UnavailabilityWindow {
  startMs: number;
  endMs: number;
  /** The faults active at some time during the window (joined by `+`), or `none`. */
  fault: string;
}

/** Operations per time bucket, for the charts. */
export interface TimelineBucket {
  startMs: number;
  sendOk: number;
  sendFail: number;
  sendInfo: number;
  received: number;
  /** Latency of successful sends in the bucket, milliseconds (null when there was none). */
  sendLatencyP50Ms: number | null;
  sendLatencyP99Ms: number | null;
  sendLatencyMaxMs: number | null;
}

export interface RunSummary {
  /** `<workload>-<nemesis>`. */
  name: string;
  workload: string;
  nemesis: string;
  seed: number;
  mode: HostMode;
  /** Why this mode (e.g. "not root: no network namespaces"). */
  modeReason: string;
  /** Faults the machine could not inject in this run, with the reason. */
  unsupported: string[];
  /** The exact command that replays this run. */
  replayCommand: string;
  startedAtIso: string;
  durationMs: number;
  /**
   * False when any of lost, unexpected, order, divergence or crashes (a node exiting unasked) found a
   * problem, or the harness could not do what the run claims (faults not injected or not healed,
   * nothing acknowledged, nodes that never converged).
   */
  valid: boolean;
  counts: {
    sendInvoked: number;
    sendOk: number;
    sendFail: number;
    sendInfo: number;
    /** Deliveries (a redelivery counts again). */
    received: number;
    /** Distinct messages delivered. */
    receivedDistinct: number;
  };
  checkers: CheckerResult[];
  faults: FaultWindow[];
  unavailability: UnavailabilityWindow[];
  timeline: { bucketMs: number; buckets: TimelineBucket[] };
}
