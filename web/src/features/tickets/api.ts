// Tickets as the API gives them, and the rules the screens follow: which
// status a ticket may move to next (the server enforces the same rules).
export type Status = 'new' | 'open' | 'pending' | 'on_hold' | 'solved' | 'closed';

export interface Ticket {
  id: string;
  number: number;
  subject: string;
  description: string;
  requester_id: string;
  channel: string;
  type: string;
  priority: string;
  status: Status;
  assignee_id?: string;
  team_id?: string;
  tags: string[];
  custom: Record<string, unknown>;
  version: number;
  message_count: number;
  first_responded_at?: string;
  solved_at?: string;
  closed_at?: string;
  merged_into_id?: string;
  sla_policy_id?: string;
  first_response_due_at?: string;
  first_response_warn_at?: string;
  next_response_due_at?: string;
  next_response_warn_at?: string;
  resolution_due_at?: string;
  resolution_warn_at?: string;
  csat_rating?: number;
  csat_comment?: string;
  sla_paused_seconds: number;
  sla_paused_at?: string;
  created_at: string;
  updated_at: string;
  requester_created?: boolean;
}

/**
 * slaState says where a due time stands at now: met (done by then), breached
 * (done late, or still open past it), paused (the clock stands still), or
 * running; none without a due time.
 */
export function slaState(due: string | undefined, doneAt: string | undefined, paused: boolean, now: number): 'none' | 'met' | 'breached' | 'paused' | 'running' {
  if (!due) return 'none';
  const d = Date.parse(due);
  if (doneAt) return Date.parse(doneAt) <= d ? 'met' : 'breached';
  if (now > d) return 'breached';
  return paused ? 'paused' : 'running';
}

export interface Message {
  id: string;
  seq: number;
  kind: 'reply' | 'note';
  body: string;
  author_id?: string;
  email_state?: 'pending' | 'sent' | 'no_address';
  created_at: string;
  attachments?: Attachment[];
}

/** Attachment is a file of a ticket: of a reply or note, or sent with the hosted form. */
export interface Attachment {
  id: string;
  ticket_id: string;
  message_id?: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  created_at: string;
  download_url?: string;
}

/** The files a reply or note takes, as the server checks them. */
export const MESSAGE_FILES = { max: 5, maxBytes: 10 << 20, accept: '.png,.jpg,.jpeg,.gif,.webp,.pdf,.txt,.log,.csv,.doc,.docx,.xls,.xlsx,.ppt,.pptx' };

/** fileSize writes a size in bytes for people: 820 B, 14 KB, 2.3 MB. */
export function fileSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${Math.round(n / 1024)} KB`;
  return `${(n / (1 << 20)).toFixed(1)} MB`;
}

/** withFiles is a multipart form of the given fields and files (field "files"). */
export function withFiles(fields: Record<string, string | undefined>, files: File[]): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== '') fd.append(k, v);
  for (const f of files) fd.append('files', f, f.name);
  return fd;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string;
}

export const STATUSES: Status[] = ['new', 'open', 'pending', 'on_hold', 'solved', 'closed'];
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
export const CHANNELS = ['email', 'phone', 'web_form', 'chat', 'social'];
export const TYPES = ['question', 'incident', 'complaint', 'feedback', 'request'];

const NEXT: Record<Status, Status[]> = {
  new: ['open', 'pending', 'on_hold', 'solved'],
  open: ['pending', 'on_hold', 'solved'],
  pending: ['open', 'on_hold', 'solved'],
  on_hold: ['open', 'pending', 'solved'],
  solved: ['open', 'closed'],
  closed: [],
};

/** nextStatuses are the statuses a ticket in status s may move to. */
export function nextStatuses(s: Status): Status[] {
  return NEXT[s] ?? [];
}

/** isOpen says whether a ticket still needs work (counts against an agent's cap). */
export function isOpen(s: Status): boolean {
  return s !== 'solved' && s !== 'closed';
}

export const STATUS_COLOR: Record<Status, string> = {
  new: 'gold',
  open: 'red',
  pending: 'blue',
  on_hold: 'default',
  solved: 'green',
  closed: 'default',
};

export const PRIORITY_COLOR: Record<string, string> = { low: 'default', normal: 'blue', high: 'orange', urgent: 'red' };

/** ticketNumber is how a ticket is named to people: #1001. */
export const ticketNumber = (t: Pick<Ticket, 'number'>) => `#${t.number}`;

/** Survey is what a survey link shows (public, no sign-in). */
export interface Survey {
  company: string;
  locale: 'en' | 'zh-CN';
  number: number;
  subject: string;
  expires_at: string;
  rated: boolean;
  rating?: number;
  comment?: string;
}

/** PublicForm is the company's hosted form (public, no sign-in). */
export interface PublicForm {
  company: string;
  locale: 'en' | 'zh-CN';
  title: string;
  intro: string;
  types: string[];
  max_files?: number;
  max_file_bytes?: number;
  file_types?: string[];
}

/** publicPath builds a company's public API path: /public/acme/ticket-form. */
export const publicPath = (tenant: string, p: string) => `/public/${encodeURIComponent(tenant)}${p}`;

/** uiLanguage is the app's language for a company locale. */
export const uiLanguage = (locale: string) => (locale === 'zh-CN' ? 'zh' : 'en');

/** FormSettings are the hosted form's settings, with the snippet that embeds it. */
export interface FormSettings {
  enabled: boolean;
  title: string;
  intro: string;
  snippet?: string;
}

export interface CalendarHours {
  days: string[];
  start: string;
  end: string;
}

/** Calendar is a business-hour calendar: the company's default, or a team's. */
export interface Calendar {
  id: string;
  name: string;
  time_zone: string;
  team_id?: string;
  default: boolean;
  hours: CalendarHours[];
  holidays: { date: string; name?: string }[];
}

/** Policy is an SLA policy: the conditions a ticket matches and its targets in minutes. */
export interface Policy {
  id: string;
  name: string;
  position: number;
  active: boolean;
  priorities: string[];
  types: string[];
  channels: string[];
  tags: string[];
  first_response_minutes?: number;
  next_response_minutes?: number;
  resolution_minutes?: number;
  warn_percent: number;
  business_hours: boolean;
}

/** minutesText writes a target for people: 45 min, 4 h, 1 d 2 h. */
export function minutesText(m?: number): string {
  if (!m) return '—';
  const d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), min = m % 60;
  return [d ? `${d} d` : '', h ? `${h} h` : '', min ? `${min} min` : ''].filter(Boolean).join(' ');
}

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** parseHolidays reads one holiday a line, "2027-01-01 New Year"; blank lines are skipped. */
export function parseHolidays(text: string): { date: string; name?: string }[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [date, ...rest] = l.split(/\s+/);
      const name = rest.join(' ');
      return name ? { date, name } : { date };
    });
}

/** showHolidays writes holidays back, one a line. */
export const showHolidays = (hs: Calendar['holidays']) => hs.map((h) => [h.date, h.name].filter(Boolean).join(' ')).join('\n');
