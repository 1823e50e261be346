// What the app knows about a dependency being down: the server answers 503 with
// a problem that names it ("database", "identity", "redis") and Retry-After.
// Any successful answer clears it. The banner reads this store; retries back
// off from Retry-After, doubling up to half a minute, so that a fleet of open
// tabs does not hammer a server that is already struggling.

export type Dependency = 'database' | 'identity' | 'redis' | 'service';

export interface Outage {
  dependency: Dependency;
  /** seconds the server asked us to wait (Retry-After), at least 1 */
  retryAfter: number;
  /** failed attempts in a row while it lasts; drives the backoff */
  attempts: number;
  since: number;
}

type Listener = () => void;

let current: Outage | null = null;
const listeners = new Set<Listener>();

function emit() {
  listeners.forEach((l) => l());
}

export function subscribeOutage(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function getOutage(): Outage | null {
  return current;
}

function asDependency(v: unknown): Dependency {
  return v === 'database' || v === 'identity' || v === 'redis' ? v : 'service';
}

/** parseRetryAfter reads a Retry-After header in seconds; anything else is 2 s. */
export function parseRetryAfter(v: unknown): number {
  const n = Number.parseInt(String(v ?? ''), 10);
  return Number.isFinite(n) && n > 0 ? Math.min(n, 300) : 2;
}

/** noteUnavailable records a 503 (or no answer at all) from the server. */
export function noteUnavailable(dependency: unknown, retryAfter: unknown, now = Date.now()): void {
  const dep = asDependency(dependency);
  const secs = parseRetryAfter(retryAfter);
  current = current
    ? { ...current, dependency: dep, retryAfter: secs, attempts: current.attempts + 1 }
    : { dependency: dep, retryAfter: secs, attempts: 1, since: now };
  emit();
}

/** noteAvailable records that a request went through: the outage is over. */
export function noteAvailable(): void {
  if (!current) return;
  current = null;
  emit();
}

/**
 * backoffMs is how long to wait before retry number `attempt` (1-based): the
 * server's Retry-After, doubled for each further failure, capped at 30 s, with
 * up to 20% jitter so that many tabs spread out.
 */
export function backoffMs(attempt: number, retryAfter = 1, random = Math.random): number {
  const base = Math.max(1, retryAfter) * 1000 * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(base, 30_000);
  return Math.round(capped * (1 + 0.2 * random()));
}
