// The board's logic, apart from the screen: where a drop puts a deal (the
// move the API takes: a stage and the neighbour it goes before or after), the
// board as it looks right after a move (shown until the server's figures
// arrive), and the name of a stage in the reader's language.

export interface Stage {
  id: string;
  pipeline_id: string;
  name_en: string;
  name_zh: string;
  position: number;
  probability: number;
  kind: 'open' | 'won' | 'lost';
  rotting_days?: number;
}

export interface Pipeline {
  id: string;
  name_en: string;
  name_zh: string;
  is_default: boolean;
  stages: Stage[];
}

export interface Deal {
  id: string;
  title: string;
  customer_id: string;
  amount: string;
  currency: string;
  expected_close?: string;
  owner_id?: string;
  pipeline_id: string;
  stage_id: string;
  position: string;
  tags: string[];
  version: number;
  won_at?: string;
  lost_at?: string;
  updated_at: string;
}

export interface Total {
  currency: string;
  amount: string;
  weighted: string;
}

export interface Column {
  stage_id: string;
  count: number;
  rotting: number;
  /** The column's sum and weighted sum in the company's currency. */
  amount?: string;
  weighted?: string;
  totals: Total[];
  deals: Deal[];
  next_cursor?: string;
}

export interface Board {
  pipeline: Pipeline;
  /** The company's currency, which every column's amount is in. */
  currency?: string;
  columns: Column[];
}

export interface MoveTarget {
  stage_id: string;
  before_id?: string;
  after_id?: string;
}

/** The droppable id of a column (its empty space and its end). */
export const columnId = (stageId: string) => `col:${stageId}`;

/**
 * moveTarget is the move a drop of deal over overId asks for: over a column,
 * the end of it; over a deal of another column, just before that deal; within
 * the deal's own column, before the deal it passed upwards or after the one it
 * passed downwards. null when nothing would change.
 */
export function moveTarget(cols: Column[], dealId: string, overId: string): MoveTarget | null {
  if (overId === dealId) return null;
  if (overId.startsWith('col:')) {
    const stage = overId.slice(4);
    const col = cols.find((c) => c.stage_id === stage);
    if (!col) return null;
    const last = col.deals[col.deals.length - 1];
    if (last?.id === dealId) return null; // already last
    return { stage_id: stage };
  }
  const to = cols.find((c) => c.deals.some((d) => d.id === overId));
  if (!to) return null;
  const from = to.deals.findIndex((d) => d.id === dealId);
  const at = to.deals.findIndex((d) => d.id === overId);
  if (from >= 0 && from < at) return { stage_id: to.stage_id, after_id: overId };
  return { stage_id: to.stage_id, before_id: overId };
}

/** applyMove is the board with the deal moved as target says, counts adjusted. */
export function applyMove(cols: Column[], dealId: string, target: MoveTarget): Column[] {
  let moving: Deal | undefined;
  const without = cols.map((c) => {
    const i = c.deals.findIndex((d) => d.id === dealId);
    if (i < 0) return c;
    moving = c.deals[i];
    return { ...c, count: c.count - 1, deals: c.deals.filter((d) => d.id !== dealId) };
  });
  if (!moving) return cols;
  const moved: Deal = { ...moving, stage_id: target.stage_id };
  return without.map((c) => {
    if (c.stage_id !== target.stage_id) return c;
    const deals = [...c.deals];
    let at = deals.length;
    if (target.before_id) at = Math.max(0, deals.findIndex((d) => d.id === target.before_id));
    else if (target.after_id) at = deals.findIndex((d) => d.id === target.after_id) + 1;
    deals.splice(at, 0, moved);
    return { ...c, count: c.count + 1, deals };
  });
}

/** stageName is the name in the reader's language, or the other one when that is empty. */
export function stageName(s: { name_en: string; name_zh: string }, lang: string): string {
  return lang.startsWith('zh') ? s.name_zh || s.name_en : s.name_en || s.name_zh;
}

/** The stage a quick action goes to: the pipeline's first won or lost stage. */
export function closingStage(p: Pipeline, kind: 'won' | 'lost'): Stage | undefined {
  return [...p.stages].sort((a, b) => a.position - b.position).find((s) => s.kind === kind);
}
