// Custom-field definitions as the API returns them, the list's filters as the
// API's query string (field[op]=value, custom fields as custom.<key>), and the
// rules of which operator and which value input each field takes.
export interface FieldOption {
  value: string;
  label_en?: string;
  label_zh?: string;
}
export interface FieldDef {
  key: string;
  label_en: string;
  label_zh?: string;
  type: string;
  options?: FieldOption[];
  required?: boolean;
  unique?: boolean;
  filterable?: boolean;
  sortable?: boolean;
  sensitive?: boolean;
  max?: number;
  default?: unknown;
  help_en?: string;
  help_zh?: string;
  archived_at?: string;
  pending?: { job_id: string; reason?: string[]; to?: { type: string } } | null;
  position?: number;
}

export const FIELD_TYPES = [
  'text', 'long_text', 'number', 'decimal', 'currency', 'date', 'datetime', 'boolean',
  'select', 'multi_select', 'email', 'phone', 'url', 'user', 'rating',
] as const;

/** The value the API shows in place of a sensitive value to a reader without pii.read. */
export const MASK = '••••••';

export const OPS = ['eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte', 'between', 'prefix', 'contains', 'empty'] as const;
export type Op = (typeof OPS)[number];

export interface FilterRow {
  field: string; // a standard field or custom.<key>
  op: Op;
  value: string; // "in" and "between" hold comma-separated values
}

/** How the filter builder asks for a value. */
export type ValueKind =
  | 'text' | 'number' | 'date' | 'datetime' | 'instant' | 'currency' | 'segment' | 'choice' | 'lifecycle' | 'kind' | 'member' | 'team' | 'boolean' | 'tags';

/** Standard fields the list can filter on, with the operators the API takes for each. */
export const STANDARD_FILTERS: Record<string, { ops: Op[]; kind: ValueKind }> = {
  name: { ops: ['eq', 'ne', 'in', 'prefix'], kind: 'text' },
  email: { ops: ['eq', 'prefix'], kind: 'text' },
  phone: { ops: ['eq', 'prefix'], kind: 'text' },
  lifecycle: { ops: ['eq', 'ne', 'in'], kind: 'lifecycle' },
  kind: { ops: ['eq', 'ne'], kind: 'kind' },
  source: { ops: ['eq', 'ne', 'in', 'prefix', 'empty'], kind: 'text' },
  owner_id: { ops: ['eq', 'ne', 'in', 'empty'], kind: 'member' },
  owner_team: { ops: ['eq', 'empty'], kind: 'team' },
  tags: { ops: ['contains', 'in', 'empty'], kind: 'tags' },
  created_at: { ops: ['gte', 'lte', 'gt', 'lt', 'between'], kind: 'date' },
  updated_at: { ops: ['gte', 'lte', 'gt', 'lt', 'between'], kind: 'date' },
  // The nightly scores (a customer not scored yet has risk 0, no segment).
  'rfm.segment': { ops: ['eq', 'ne', 'in', 'empty'], kind: 'segment' },
  churn_risk: { ops: ['gte', 'lt', 'gt', 'lte', 'eq'], kind: 'number' },
  // Moments of the customer's history, as the BI metrics count customers by
  // them (a drill-down opens them): a purchase in a range (RFC 3339
  // instants), in a currency, through a channel, which one purchase meets
  // together; a move to churned in a range. Each is given once.
  purchased_at: { ops: ['gte', 'lt'], kind: 'instant' },
  purchase_currency: { ops: ['eq'], kind: 'currency' },
  purchase_channel: { ops: ['eq', 'empty'], kind: 'text' },
  churned_at: { ops: ['gte', 'lt'], kind: 'instant' },
  // Active at an instant: the stage then, by the history, was customer or at risk.
  active_at: { ops: ['eq'], kind: 'instant' },
  // The address's province and city, as the BI dimensions read them (empty: none, or an empty one).
  province: { ops: ['eq', 'in', 'empty'], kind: 'text' },
  city: { ops: ['eq', 'in', 'empty'], kind: 'text' },
};

/** RFM_SEGMENTS are the segments of the nightly scoring run, in the order its rules are tried. */
export const RFM_SEGMENTS = ['champions', 'loyal', 'new', 'potential', 'at_risk', 'hibernating', 'lost'];

const RANGE: Op[] = ['eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte', 'between', 'empty'];
const TEXT: Op[] = ['eq', 'ne', 'in', 'prefix', 'contains', 'empty'];
const CHOICE: Op[] = ['eq', 'ne', 'in', 'empty'];

/** filterableDef: the API filters custom fields that are filterable and indexed. */
export const filterableDef = (d: FieldDef) => !!d.filterable && !d.sensitive && d.type !== 'long_text' && !d.archived_at;

/** opsFor lists the operators a field takes (standard name or custom.<key>). */
export function opsFor(field: string, def?: FieldDef): Op[] {
  if (!field.startsWith('custom.')) return STANDARD_FILTERS[field]?.ops ?? ['eq'];
  switch (def?.type) {
    case 'number': case 'decimal': case 'currency': case 'rating': case 'date': case 'datetime':
      return RANGE;
    case 'select': case 'multi_select': case 'user':
      return CHOICE;
    case 'boolean':
      return ['eq', 'ne', 'empty'];
    default:
      return TEXT;
  }
}

/** valueKind says which input the builder shows for a field's value. */
export function valueKind(field: string, def?: FieldDef): ValueKind {
  if (!field.startsWith('custom.')) return STANDARD_FILTERS[field]?.kind ?? 'text';
  switch (def?.type) {
    case 'number': case 'decimal': case 'currency': case 'rating':
      return 'number';
    case 'date':
      return 'date';
    case 'datetime':
      return 'datetime';
    case 'select': case 'multi_select':
      return 'choice';
    case 'user':
      return 'member';
    case 'boolean':
      return 'boolean';
    default:
      return 'text';
  }
}

export const fieldLabel = (d: Pick<FieldDef, 'label_en' | 'label_zh' | 'key'>, lang: string) =>
  (lang === 'zh' && d.label_zh) || d.label_en || d.key;

export const optionLabel = (o: FieldOption, lang: string) => (lang === 'zh' && o.label_zh) || o.label_en || o.value;

export const helpText = (d: Pick<FieldDef, 'help_en' | 'help_zh'>, lang: string) => (lang === 'zh' && d.help_zh) || d.help_en || undefined;

/** rowComplete: a row the API can take (a field, and a value unless the operator needs none). */
export function rowComplete(r: FilterRow): boolean {
  if (!r.field) return false;
  if (r.op === 'empty') return true;
  const v = r.value.trim();
  if (!v) return false;
  if (r.op === 'between') return v.split(',').filter((x) => x.trim()).length === 2;
  return true;
}

export interface ListExtras {
  q?: string;
  tag?: string[];
  lifecycle?: string[];
  owner?: string;
  sort?: string;
}

/** filterQuery turns the builder's rows, search, tags, stages, owner and sort into query parameters. */
export function filterQuery(rows: FilterRow[], extra: ListExtras = {}): URLSearchParams {
  const p = new URLSearchParams();
  if (extra.q?.trim()) p.set('q', extra.q.trim());
  for (const t of extra.tag ?? []) p.append('tag', t);
  for (const l of extra.lifecycle ?? []) p.append('lifecycle', l);
  if (extra.owner) p.set('owner', extra.owner);
  if (extra.sort) p.set('sort', extra.sort);
  for (const r of rows) {
    if (!rowComplete(r)) continue;
    // Lists (in, between) are comma-separated; any other value is one value,
    // commas and all (a channel or a name may hold one).
    const listed = r.op === 'in' || r.op === 'between';
    const v = r.op === 'empty' ? (r.value === 'false' ? 'false' : 'true') : listed ? r.value.split(',').map((x) => x.trim()).filter(Boolean).join(',') : r.value.trim();
    p.append(r.op === 'eq' ? r.field : `${r.field}[${r.op}]`, v);
  }
  return p;
}

const RESERVED = ['q', 'tag', 'lifecycle', 'owner', 'sort', 'cursor', 'limit', 'segment_id', 'view_id'];

/** parseFilterQuery reads a list URL or a saved segment's query back into builder rows. */
export function parseFilterQuery(q: string): { rows: FilterRow[] } & Required<Omit<ListExtras, 'owner' | 'sort'>> & { owner: string; sort: string } {
  const p = new URLSearchParams(q);
  const out = { rows: [] as FilterRow[], q: p.get('q') ?? '', tag: p.getAll('tag'), lifecycle: p.getAll('lifecycle'), owner: p.get('owner') ?? '', sort: p.get('sort') ?? '' };
  p.forEach((value, key) => {
    if (RESERVED.includes(key)) return;
    const m = key.match(/^(.+?)(?:\[(\w+)\])?$/);
    if (!m) return;
    const op = (m[2] ?? 'eq') as Op;
    if (!OPS.includes(op)) return;
    out.rows.push({ field: m[1], op, value });
  });
  return out;
}

/** changedNames lists the form paths an antd onValuesChange reported, so their
 * server-side errors can be cleared once the user edits them. */
export function changedNames(changed: Record<string, unknown>): (string | number)[][] {
  const out: (string | number)[][] = [];
  for (const [k, v] of Object.entries(changed)) {
    if ((k === 'custom' || k === 'address') && v && typeof v === 'object' && !Array.isArray(v)) {
      for (const c of Object.keys(v as object)) out.push([k, c]);
    } else if (Array.isArray(v)) {
      out.push([k]);
      v.forEach((_, i) => out.push([k, i]));
    } else out.push([k]);
  }
  return out;
}

/** Formatting helpers a value renderer needs (useFormat() provides them). */
export interface ValueFormat {
  number: (n: number | string) => string;
  money: (amount: string, currency?: string) => string;
  day: (d: string) => string;
  dateTime: (d: string) => string;
}

/**
 * showValue renders a stored custom value as text for lists and the profile:
 * options by their label, money in its currency, days and times in the company's
 * locale, members by name.
 */
export function showValue(def: FieldDef | undefined, v: unknown, lang: string, f?: ValueFormat, memberName?: (id: string) => string | undefined): string {
  if (v === null || v === undefined || v === '') return '';
  if (v === MASK) return MASK;
  if (Array.isArray(v)) return v.map((x) => showValue(def, x, lang, f, memberName)).filter(Boolean).join(', ');
  switch (def?.type) {
    case 'currency': {
      const c = v as { amount?: string; currency?: string };
      if (c && typeof c === 'object' && c.amount !== undefined) return f ? f.money(c.amount, c.currency) : `${c.amount} ${c.currency ?? ''}`.trim();
      break;
    }
    case 'number': case 'decimal':
      return f ? f.number(v as string) : String(v);
    case 'date':
      return f ? f.day(String(v)) : String(v);
    case 'datetime':
      return f ? f.dateTime(String(v)) : String(v);
    case 'boolean':
      return v === true ? (lang === 'zh' ? '是' : 'Yes') : v === false ? (lang === 'zh' ? '否' : 'No') : String(v);
    case 'rating': {
      const n = Math.max(0, Math.min(Number(v) || 0, def.max || 5));
      return '★'.repeat(n) + '☆'.repeat((def.max || 5) - n);
    }
    case 'user':
      return memberName?.(String(v)) ?? String(v);
    case 'select': case 'multi_select': {
      const o = def.options?.find((x) => x.value === v);
      return o ? optionLabel(o, lang) : String(v);
    }
  }
  if (typeof v === 'object') {
    const c = v as { amount?: string; currency?: string };
    if (c.amount !== undefined) return `${c.amount} ${c.currency ?? ''}`.trim();
    return JSON.stringify(v);
  }
  if (typeof v === 'boolean') return v ? '✓' : '✗';
  return String(v);
}

/**
 * customPayload is what a form sends as `custom`: values left empty are dropped
 * on create (no value) and sent as null on edit (clear it), and a masked
 * sensitive value is never sent back (it would overwrite the real one).
 */
export function customPayload(values: Record<string, unknown> | undefined, defs: FieldDef[], mode: 'create' | 'edit', before?: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const d of defs) {
    if (d.archived_at) continue;
    let v = values?.[d.key];
    if (v === MASK) continue;
    if (Array.isArray(v) && v.length === 0) v = null;
    if (d.type === 'currency' && v && typeof v === 'object' && !(v as { amount?: unknown }).amount) v = null;
    const empty = v === undefined || v === null || v === '';
    if (mode === 'create') {
      if (!empty) out[d.key] = v;
      continue;
    }
    const had = before?.[d.key];
    if (empty) {
      if (had !== undefined && had !== null && had !== '' && had !== MASK) out[d.key] = null;
      continue;
    }
    if (JSON.stringify(v) !== JSON.stringify(had)) out[d.key] = v;
  }
  return out;
}

/** splitList turns "a@x.com, b@y.com" or a tags input's array into a clean list. */
export function splitList(v: unknown, sep = /[,;\s]+/): string[] {
  if (Array.isArray(v)) return v.map((x) => String(x).trim()).filter(Boolean);
  if (typeof v !== 'string') return [];
  return v.split(sep).map((x) => x.trim()).filter(Boolean);
}

/** conflictIds reads the customers a 409 duplicate problem names. */
export function conflictIds(err: { detail?: string; errors?: { value?: unknown }[] }): string[] {
  for (const e of err.errors ?? []) {
    if (Array.isArray(e.value)) return e.value.map(String);
  }
  return (err.detail ?? '').match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [];
}

/** formatEta says how long is left: "45 s", "3 min 20 s", "1 h 5 min". */
export function formatEta(seconds: number | undefined, lang: string): string {
  if (seconds === undefined || seconds === null || !Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  const zh = lang === 'zh';
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (h > 0) return zh ? `${h} 小时 ${m} 分` : `${h} h ${m} min`;
  if (m > 0) return zh ? `${m} 分 ${r} 秒` : `${m} min ${r} s`;
  return zh ? `${r} 秒` : `${r} s`;
}
