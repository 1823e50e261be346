// What the webhook screens need besides the API: the event catalogue grouped
// by object for the picker, and how a delivery's state reads.

/** Every event a subscription may name (modules/webhooks.Catalogue). */
export const CATALOGUE = [
  'customer.created',
  'customer.updated',
  'customer.deleted',
  'customer.merged',
  'customers.imported',
  'interaction.created',
  'purchases.imported',
  'deal.created',
  'deal.updated',
  'deal.moved',
  'deal.won',
  'deal.lost',
  'deal.deleted',
  'deals.imported',
  'ticket.created',
  'ticket.updated',
  'ticket.status_changed',
  'ticket.replied',
  'ticket.noted',
  'ticket.merged',
  'tickets.imported',
  'task.created',
  'task.updated',
  'task.completed',
] as const;

export interface EventGroup {
  object: string;
  wildcard: string;
  events: string[];
}

/** groupEvents groups the catalogue by object, as the server matches
 * wildcards: "customer.*" covers customer.created..., and the import event
 * "customers.imported" belongs to "customers.*". */
export function groupEvents(catalogue: readonly string[] = CATALOGUE): EventGroup[] {
  const groups = new Map<string, EventGroup>();
  for (const e of catalogue) {
    const object = e.split('.')[0];
    let g = groups.get(object);
    if (!g) {
      g = { object, wildcard: `${object}.*`, events: [] };
      groups.set(object, g);
    }
    g.events.push(e);
  }
  return [...groups.values()];
}

export type DeliveryStatus = 'pending' | 'sending' | 'succeeded' | 'failed';

export interface Delivery {
  id: string;
  subscription_id: string;
  event_id: string;
  event_type: string;
  entity_id?: string;
  status: DeliveryStatus;
  sequence?: number;
  attempts: number;
  next_attempt_at?: string;
  last_status?: number;
  last_error?: string;
  last_latency_ms?: number;
  last_response?: string;
  replay_of?: string;
  created_at: string;
  delivered_at?: string;
  body?: unknown;
}

export interface Subscription {
  id: string;
  url: string;
  description: string;
  events: string[];
  enabled: boolean;
  disabled_reason?: string;
  secret_hint: string;
  old_secret_until?: string;
  failure_streak: number;
  created_at: string;
  updated_at: string;
}

/** statusColor is the tag colour of a delivery state. */
export function statusColor(s: DeliveryStatus): string {
  return { pending: 'gold', sending: 'blue', succeeded: 'green', failed: 'red' }[s] ?? 'default';
}

/** outcome says in a few words what the last attempt got: "200 in 35 ms",
 * "503 in 1.2 s", or the error, or nothing yet. */
export function outcome(d: Pick<Delivery, 'last_status' | 'last_latency_ms' | 'last_error' | 'attempts'>): string {
  const ms = d.last_latency_ms;
  const took = ms == null ? '' : ms < 1000 ? ` · ${ms} ms` : ` · ${(ms / 1000).toFixed(1)} s`;
  if (d.last_status) return `HTTP ${d.last_status}${took}`;
  if (d.last_error) return d.last_error.length > 80 ? d.last_error.slice(0, 79) + '…' : d.last_error;
  return '';
}
