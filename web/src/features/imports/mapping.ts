// The column mapping of an import: what the user chose, checked the way the API
// checks it, and the API's answers about it placed on the columns they name.
import { ApiError } from '../../app/api';

export const STANDARD_TARGETS = ['name', 'kind', 'emails', 'phones', 'company', 'address', 'tags', 'lifecycle', 'source'];

export interface MappingIssue { kind: 'needName' | 'twice'; target?: string; columns?: string[] }

/** mappingIssues finds what the API would refuse: no name for new customers, a field fed by two columns. */
export function mappingIssues(mapping: Record<string, string>, mode: string, entity = 'customers'): MappingIssue[] {
  const out: MappingIssue[] = [];
  const by = new Map<string, string[]>();
  for (const [col, target] of Object.entries(mapping)) {
    if (!target) continue;
    by.set(target, [...(by.get(target) ?? []), col]);
  }
  if (entity === 'customers' && mode !== 'update' && !by.has('name')) out.push({ kind: 'needName' });
  for (const [target, cols] of by) if (cols.length > 1) out.push({ kind: 'twice', target, columns: cols });
  return out;
}

/** cleanMapping drops the columns left unmapped. */
export const cleanMapping = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).filter(([, v]) => v));

/**
 * startProblems splits a refused start into messages per column
 * (body.mapping.<column>, the column name may hold dots), about match_on, and the rest.
 */
export function startProblems(err: unknown): { columns: Record<string, string>; matchOn?: string; mode?: string; rest: string[] } {
  const out: { columns: Record<string, string>; matchOn?: string; mode?: string; rest: string[] } = { columns: {}, rest: [] };
  if (!(err instanceof ApiError)) {
    out.rest.push(err instanceof Error ? err.message : String(err));
    return out;
  }
  for (const e of err.errors) {
    const loc = e.location ?? '';
    const msg = e.message ?? err.detail;
    if (loc.startsWith('body.mapping.')) out.columns[loc.slice('body.mapping.'.length)] = msg;
    else if (loc === 'body.match_on') out.matchOn = msg;
    else if (loc === 'body.mode') out.mode = msg;
    else out.rest.push(msg);
  }
  if (!err.errors.length) out.rest.push(err.detail || err.title);
  return out;
}

/** sampleValues: the first few non-empty values of a column, for the mapping table. */
export function sampleValues(sample: string[][], index: number, n = 3): string[] {
  const out: string[] = [];
  for (const r of sample) {
    const v = (r[index] ?? '').trim();
    if (v && !out.includes(v)) out.push(v);
    if (out.length >= n) break;
  }
  return out;
}
