// What the field editor sends: a key derived from the English label, options
// only for choice fields, flags the type allows, and a default only when set.
import type { FieldDef, FieldOption } from '../customers/fields';

/** slugKey derives a field key from an English label: "Annual revenue" -> "annual_revenue". */
export function slugKey(label: string): string {
  const s = label
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 63);
  if (!s) return '';
  return /^[a-z]/.test(s) ? s : ('f_' + s).slice(0, 63);
}

export const CHOICE_TYPES = ['select', 'multi_select'];

/** flagsAllowed: which behaviours a type (and sensitivity) can take, as the API checks them. */
export function flagsAllowed(type: string, sensitive: boolean) {
  const indexable = type !== 'long_text' && !sensitive;
  return {
    filterable: indexable,
    sortable: indexable && type !== 'multi_select',
    unique: indexable && !['multi_select', 'boolean', 'rating'].includes(type),
    sensitive: !['boolean', 'rating', 'select', 'multi_select', 'user'].includes(type),
  };
}

const isEmpty = (v: unknown) =>
  v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v as { amount?: unknown }).amount);

/** definitionBody turns the editor's values into the POST or PATCH body. */
export function definitionBody(v: Record<string, unknown>, mode: 'create' | 'edit', before?: FieldDef): Record<string, unknown> {
  const type = String(v.type ?? 'text');
  const sensitive = !!v.sensitive;
  const allowed = flagsAllowed(type, sensitive);
  const body: Record<string, unknown> = {
    label_en: String(v.label_en ?? '').trim(),
    label_zh: String(v.label_zh ?? '').trim(),
    type,
    required: !!v.required,
    unique: allowed.unique && !!v.unique,
    filterable: allowed.filterable && !!v.filterable,
    sortable: allowed.sortable && !!v.sortable,
    sensitive: allowed.sensitive && sensitive,
    help_en: String(v.help_en ?? '').trim(),
    help_zh: String(v.help_zh ?? '').trim(),
  };
  if (CHOICE_TYPES.includes(type)) {
    body.options = ((v.options as FieldOption[]) ?? [])
      .filter((o) => o && String(o.value ?? '').trim())
      .map((o) => ({ value: String(o.value).trim(), label_en: (o.label_en ?? '').trim() || undefined, label_zh: (o.label_zh ?? '').trim() || undefined }));
  } else if (mode === 'edit' && before?.options?.length) {
    body.options = [];
  }
  if (type === 'rating') body.max = v.max ?? 5;
  else if (mode === 'edit' && before?.max) body.max = 0;
  if (!isEmpty(v.default)) body.default = v.default;
  else if (mode === 'edit' && before?.default !== undefined && before?.default !== null) body.default = null;
  if (mode === 'create') body.key = String(v.key ?? '').trim();
  return body;
}

/** An entity that carries custom fields, as GET /fields lists them. */
export interface FieldEntity { name: string; label_en: string; label_zh: string }

/** entityLabel is the entity's name in the interface language. */
export function entityLabel(e: FieldEntity, lang: string): string {
  return (lang.startsWith('zh') ? e.label_zh : e.label_en) || e.label_en || e.name;
}
