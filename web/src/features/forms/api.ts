// Web-to-lead forms: the API's shapes, and the pure helpers the builder, its
// live preview and the hosted page share.

export interface LeadFormField {
  key: string;
  label_en?: string;
  label_zh?: string;
  required?: boolean;
}

export interface LeadForm {
  id: string;
  name: string;
  token: string;
  enabled: boolean;
  fields: LeadFormField[];
  title_en: string;
  title_zh: string;
  consent: boolean;
  consent_en: string;
  consent_zh: string;
  thanks_en: string;
  thanks_zh: string;
  redirect_url: string;
  owner_id?: string;
  create_task: boolean;
  task_title: string;
  pipeline_id?: string;
  stage_id?: string;
  submissions: number;
  created_at: string;
  updated_at: string;
  hosted_url: string;
  snippet: string;
}

/** LeadFormInput is what the builder saves (POST and PUT). */
export type LeadFormInput = Pick<LeadForm, 'name' | 'fields' | 'title_en' | 'title_zh' | 'consent' | 'consent_en' | 'consent_zh' | 'thanks_en' | 'thanks_zh' | 'redirect_url' | 'create_task' | 'task_title'> & {
  owner_id?: string;
  pipeline_id?: string;
  stage_id?: string;
};

export interface FieldOption {
  value: string;
  label_en?: string;
  label_zh?: string;
}

/** AvailableField is a field the builder offers (GET /lead-form-fields). */
export interface AvailableField {
  key: string;
  type: string;
  label_en: string;
  label_zh: string;
  options?: FieldOption[];
  custom: boolean;
}

export interface PublicField {
  key: string;
  label: string;
  type: string;
  required: boolean;
  max_length?: number;
  options?: FieldOption[];
}

/** PublicLeadForm is the hosted page's form, in one language. */
export interface PublicLeadForm {
  company: string;
  locale: 'en' | 'zh-CN';
  title: string;
  fields: PublicField[];
  consent?: string;
  submit: string;
  redirect_url?: string;
}

export interface Submission {
  id: string;
  form_id: string;
  customer_id: string;
  created_customer: boolean;
  data: Record<string, unknown>;
  locale: string;
  consent_text?: string;
  consent_at?: string;
  source: string;
  referrer: string;
  utm: Partial<Record<'utm_source' | 'utm_medium' | 'utm_campaign' | 'utm_term' | 'utm_content', string>>;
  task_id?: string;
  deal_id?: string;
  created_at: string;
}

export const UTM_KEYS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'] as const;

/** pick is a text in the language, falling back to the other one. */
export function pick(lang: string, en?: string, zh?: string): string {
  if (lang === 'zh-CN' && zh) return zh;
  return en || zh || '';
}

/** preview builds what the hosted page will show from the builder's state,
 * as the server does: the field's own label unless the form gives one. */
export function preview(input: Partial<LeadFormInput>, available: AvailableField[], lang: 'en' | 'zh-CN', company: string, defaults: { title: string; submit: string }): PublicLeadForm {
  const byKey = new Map(available.map((a) => [a.key, a]));
  const fields: PublicField[] = [];
  for (const f of input.fields ?? []) {
    const a = f && byKey.get(f.key);
    if (!a) continue;
    fields.push({ key: f.key, type: a.type, required: !!f.required, options: a.options, label: pick(lang, f.label_en, f.label_zh) || pick(lang, a.label_en, a.label_zh) });
  }
  return {
    company,
    locale: lang,
    title: pick(lang, input.title_en, input.title_zh) || defaults.title,
    fields,
    consent: input.consent ? pick(lang, input.consent_en, input.consent_zh) || '…' : undefined,
    submit: defaults.submit,
    redirect_url: input.redirect_url,
  };
}

/** campaign reads the hosted page's own query: the UTM parameters, and the
 * embedding page and referrer the snippet passes on. */
export function campaign(search: string): { utm: Partial<Record<(typeof UTM_KEYS)[number], string>>; source?: string; referrer?: string } {
  const q = new URLSearchParams(search);
  const utm: Partial<Record<(typeof UTM_KEYS)[number], string>> = {};
  for (const k of UTM_KEYS) {
    const v = q.get(k);
    if (v) utm[k] = v.slice(0, 200);
  }
  return { utm, source: q.get('source')?.slice(0, 2048) || undefined, referrer: q.get('referrer')?.slice(0, 2048) || undefined };
}

/** submissionValues drops empty answers, so an optional field left blank is not sent. */
export function submissionValues(v: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined && x !== null && x !== '' && !(Array.isArray(x) && x.length === 0)));
}
