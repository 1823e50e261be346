// Scheduled reports as the API gives them: subscriptions, the report inbox,
// and the pure steps from a form to a request (tested on their own).
import { tpath } from '../../app/api';

export type Frequency = 'daily' | 'weekly' | 'monthly';

export interface Subscription {
  id: string;
  report_id?: string;
  dashboard_id?: string;
  member_id?: string;
  role?: string;
  frequency: Frequency;
  weekday?: number;
  month_day?: number;
  time: string;
  next_run_at: string;
}

export interface InboxFile {
  position: number;
  name: string;
  content_type: string;
  size: number;
}

export interface InboxItem {
  id: string;
  subscription_id: string;
  title: string;
  period: string;
  scheduled_for: string;
  sent_at: string | null;
  files: InboxFile[];
  /** when the files were removed after the company's retention */
  files_expired_at?: string;
}

/** SubscribeForm is what the subscribe form holds. target is "report:<id>" or "dashboard:<id>". */
export interface SubscribeForm {
  target: string;
  frequency: Frequency;
  weekday?: number;
  month_day?: number;
  time: string;
}

/** subscriptionBody turns the form into the request: one target, and only the day its frequency needs. */
export function subscriptionBody(f: SubscribeForm): Record<string, unknown> {
  const [kind, id] = f.target.split(':', 2);
  const body: Record<string, unknown> = { frequency: f.frequency, time: f.time };
  body[kind === 'dashboard' ? 'dashboard_id' : 'report_id'] = id;
  if (f.frequency === 'weekly') body.weekday = f.weekday;
  if (f.frequency === 'monthly') body.month_day = f.month_day;
  return body;
}

/** fileURL is where a delivered file downloads from (the session cookie goes with it). */
export const fileURL = (tenant: string, item: string, position: number) =>
  '/api/v1' + tpath(tenant, `/bi/inbox/${encodeURIComponent(item)}/files/${position}`);

/** schedule describes when a subscription is sent, through t (the bi namespace). */
export function schedule(s: Pick<Subscription, 'frequency' | 'weekday' | 'month_day' | 'time'>, t: (k: string, o?: Record<string, unknown>) => string): string {
  switch (s.frequency) {
    case 'weekly':
      return t('sched_weekly', { day: t(`weekday_${s.weekday}`), time: s.time });
    case 'monthly':
      return t('sched_monthly', { day: s.month_day, time: s.time });
    default:
      return t('sched_daily', { time: s.time });
  }
}

/** size writes a file size for people. */
export function size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Recipients is whom a subscription goes to: the member themselves, and (with bi.manage) every member of some roles. */
export interface Recipients {
  me: boolean;
  roles: string[];
}

/**
 * subscriptionBodies are the requests that subscribe the recipients: one
 * for the member themselves, one per role (the API takes one recipient a
 * subscription). None when nobody is chosen.
 */
export function subscriptionBodies(f: SubscribeForm, to: Recipients): Record<string, unknown>[] {
  const body = subscriptionBody(f);
  const out: Record<string, unknown>[] = [];
  if (to.me) out.push(body);
  for (const role of [...new Set(to.roles)]) out.push({ ...body, role });
  return out;
}
