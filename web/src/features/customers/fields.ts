// Custom-field definitions as the API returns them, and the list's filters as
// the API's query string (field[op]=value, custom fields as custom.<key>).
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
  help_en?: string;
  archived_at?: string;
  pending?: unknown;
  position?: number;
}

export const FIELD_TYPES = [
  'text', 'long_text', 'number', 'decimal', 'currency', 'date', 'datetime', 'boolean',
  'select', 'multi_select', 'email', 'phone', 'url', 'user', 'rating',
];

export const OPS = ['eq', 'ne', 'in', 'gt', 'gte', 'lt', 'lte', 'between', 'prefix', 'contains', 'empty'] as const;
export type Op = (typeof OPS)[number];

export interface FilterRow {
  field: string; // a standard field or custom.<key>
  op: Op;
  value: string;
}

export const fieldLabel = (d: Pick<FieldDef, 'label_en' | 'label_zh' | 'key'>, lang: string) =>
  (lang === 'zh' && d.label_zh) || d.label_en || d.key;

/** filterQuery turns the builder's rows, search, tags and lifecycle into query parameters. */
export function filterQuery(rows: FilterRow[], extra: { q?: string; tag?: string[]; lifecycle?: string[]; sort?: string } = {}): URLSearchParams {
  const p = new URLSearchParams();
  if (extra.q?.trim()) p.set('q', extra.q.trim());
  for (const t of extra.tag ?? []) p.append('tag', t);
  for (const l of extra.lifecycle ?? []) p.append('lifecycle', l);
  if (extra.sort) p.set('sort', extra.sort);
  for (const r of rows) {
    if (!r.field || (r.value.trim() === '' && r.op !== 'empty')) continue;
    const v = r.op === 'empty' ? r.value || 'true' : r.value.trim();
    p.append(r.op === 'eq' ? r.field : `${r.field}[${r.op}]`, v);
  }
  return p;
}

/** parseFilterQuery reads a saved segment's query back into builder rows. */
export function parseFilterQuery(q: string): { rows: FilterRow[]; q: string; tag: string[]; lifecycle: string[] } {
  const p = new URLSearchParams(q);
  const out = { rows: [] as FilterRow[], q: p.get('q') ?? '', tag: p.getAll('tag'), lifecycle: p.getAll('lifecycle') };
  p.forEach((value, key) => {
    if (['q', 'tag', 'lifecycle', 'sort', 'cursor', 'limit', 'segment_id'].includes(key)) return;
    const m = key.match(/^(.+?)(?:\[(\w+)\])?$/);
    if (!m) return;
    out.rows.push({ field: m[1], op: (m[2] as Op) ?? 'eq', value });
  });
  return out;
}

/** changedNames lists the form paths an antd onValuesChange reported, so their
 * server-side errors can be cleared once the user edits them. */
export function changedNames(changed: Record<string, unknown>): (string | number)[][] {
  const out: (string | number)[][] = [];
  for (const [k, v] of Object.entries(changed)) {
    if (k === 'custom' && v && typeof v === 'object' && !Array.isArray(v)) {
      for (const c of Object.keys(v as object)) out.push(['custom', c]);
    } else out.push([k]);
  }
  return out;
}
