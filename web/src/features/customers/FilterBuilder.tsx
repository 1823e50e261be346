// The filter builder: one row per condition, each with a field (standard or
// custom), an operator the API takes for that field, and a value input that
// fits its type (dates, numbers, options, members, stages).
import { lazy, Suspense } from 'react';
import { AutoComplete, Button, Input, InputNumber, Select, Space } from 'antd';
import type { DatePicker as AntDatePicker } from 'antd';
import { CloseOutlined, FilterOutlined } from '@ant-design/icons';
import type { Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import { pickedInstant, pickerValue } from './moments';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { CURRENCIES, useMembers, useTeams } from './api';
import { MemberSelect } from './MemberSelect';
import { LIFECYCLES } from './locales';
import { type FieldDef, type FilterRow, type Op, RFM_SEGMENTS, STANDARD_FILTERS, filterableDef, fieldLabel, optionLabel, opsFor, valueKind } from './fields';

const STANDARD_LABEL: Record<string, string> = {
  owner_id: 'owner', owner_team: 'ownerTeam', created_at: 'created', updated_at: 'updated',
  'rfm.segment': 'rfmSegment', churn_risk: 'churnRisk',
  purchased_at: 'purchasedAt', purchase_currency: 'purchaseCurrency', purchase_channel: 'purchaseChannel', churned_at: 'churnedAt', active_at: 'activeAt',
  province: 'addr_province', city: 'addr_city',
};
export const standardLabelKey = (k: string) => STANDARD_LABEL[k] ?? k;

type Props = {
  rows: FilterRow[];
  setRows: (r: FilterRow[]) => void;
  defs: FieldDef[];
  onApply: () => void;
  extra?: React.ReactNode;
};

export function FilterBuilder({ rows, setRows, defs, onApply, extra }: Props) {
  const { t, i18n } = useTranslation(['customers', 'common']);
  const byKey = Object.fromEntries(defs.map((d) => [d.key, d]));
  const fieldOptions = [
    { label: t('standardFields'), options: Object.keys(STANDARD_FILTERS).map((k) => ({ value: k, label: t(standardLabelKey(k)) })) },
    ...(defs.some(filterableDef)
      ? [{ label: t('customFields'), options: defs.filter(filterableDef).map((d) => ({ value: 'custom.' + d.key, label: fieldLabel(d, i18n.language) })) }]
      : []),
  ];
  const set = (i: number, r: Partial<FilterRow>) => setRows(rows.map((x, j) => (j === i ? { ...x, ...r } : x)));
  return (
    <div data-testid="filter-builder" role="group" aria-label={t('filters')}>
      <Space direction="vertical" size={8} style={{ width: '100%' }}>
        {rows.map((r, i) => {
          const def = r.field.startsWith('custom.') ? byKey[r.field.slice(7)] : undefined;
          const ops = r.field ? opsFor(r.field, def) : [];
          return (
            <Space key={i} wrap size={8}>
              <span style={{ display: 'inline-block', width: 44, color: 'var(--c-text-2)', textAlign: 'right' }}>{i === 0 ? t('where') : t('and')}</span>
              <Select aria-label={t('field')} style={{ width: 200 }} value={r.field || undefined} placeholder={t('field')} options={fieldOptions}
                showSearch={{ optionFilterProp: 'label' }} data-testid={`filter-field-${i}`}
                onChange={(v: string) => {
                  const d = v.startsWith('custom.') ? byKey[v.slice(7)] : undefined;
                  set(i, { field: v, op: opsFor(v, d)[0], value: '' });
                }} />
              <Select aria-label={t('op')} style={{ width: 150 }} value={r.field ? r.op : undefined} disabled={!r.field}
                options={ops.map((o) => ({ value: o, label: t('op_' + o) }))} onChange={(v: Op) => set(i, { op: v, value: v === 'empty' ? 'true' : '' })} />
              {r.field && <ValueInput row={r} def={def} onChange={(value) => set(i, { value })} testId={`filter-value-${i}`} />}
              <Button type="text" icon={<CloseOutlined />} onClick={() => setRows(rows.filter((_, j) => j !== i))} aria-label={t('removeFilter')} />
            </Space>
          );
        })}
        <Space wrap>
          <Button icon={<FilterOutlined />} onClick={() => setRows([...rows, { field: '', op: 'eq', value: '' }])} data-testid="add-filter">{t('addFilter')}</Button>
          {rows.length > 0 && (
            <>
              <Button type="primary" onClick={onApply} data-testid="apply-filters">{t('apply')}</Button>
              <Button onClick={() => setRows([])}>{t('clear')}</Button>
            </>
          )}
          {extra}
        </Space>
      </Space>
    </div>
  );
}

// The pickers load with the first date row: most lists never need them.
const DatePicker = lazy(() => import('./DatePickers').then((m) => ({ default: m.DatePicker }))) as unknown as typeof AntDatePicker;
const RangePicker = lazy(() => import('./DatePickers').then((m) => ({ default: m.RangePicker }))) as unknown as typeof AntDatePicker.RangePicker;

export { pickedInstant, pickerValue };

function ValueInput({ row, def, onChange, testId }: { row: FilterRow; def?: FieldDef; onChange: (v: string) => void; testId: string }) {
  const { t, i18n } = useTranslation('customers');
  // Moments are picked and shown on the company's clocks, as lists show them.
  const zone = useFormat().settings.timeZone;
  const toDay = (s: string) => pickerValue(s, zone);
  const kind = valueKind(row.field, def);
  const multi = row.op === 'in';
  const parts = row.value ? row.value.split(',') : [];
  const label = t('value');
  const common = { 'aria-label': label, 'data-testid': testId, style: { width: 240 } };
  if (row.op === 'empty') {
    return <Select {...common} style={{ width: 120 }} value={row.value || 'true'} onChange={onChange} options={[{ value: 'true', label: t('yes') }, { value: 'false', label: t('no') }]} />;
  }
  const listValue = (v: string | string[] | null | undefined) => onChange(Array.isArray(v) ? v.join(',') : (v ?? ''));
  switch (kind) {
    case 'lifecycle':
    case 'kind':
    case 'segment':
    case 'choice': {
      const options =
        kind === 'lifecycle' ? LIFECYCLES.map((l) => ({ value: l, label: t('lifecycle_' + l) }))
        : kind === 'segment' ? RFM_SEGMENTS.map((x) => ({ value: x, label: t('segment_' + x) }))
        : kind === 'kind' ? [{ value: 'person', label: t('person') }, { value: 'company', label: t('company') }]
        : (def?.options ?? []).map((o) => ({ value: o.value, label: optionLabel(o, i18n.language) }));
      return <Select {...common} mode={multi ? 'multiple' : undefined} value={multi ? parts : row.value || undefined} options={options} onChange={listValue} showSearch={{ optionFilterProp: 'label' }} />;
    }
    case 'member':
      return multi ? <MemberMulti value={parts} onChange={listValue} /> : <MemberSelect aria-label={label} style={{ width: 240 }} value={row.value} onChange={(v) => onChange(v ?? '')} />;
    case 'team':
      return <TeamSelect label={label} testId={testId} value={row.value} onChange={onChange} />;
    case 'boolean':
      return <Select {...common} style={{ width: 120 }} value={row.value || undefined} onChange={onChange} options={[{ value: 'true', label: t('yes') }, { value: 'false', label: t('no') }]} />;
    case 'tags':
      return multi ? (
        <Select {...common} mode="tags" open={false} value={parts} onChange={listValue} tokenSeparators={[',', '，']} placeholder="vip, north" />
      ) : (
        <Input {...common} value={row.value} onChange={(e) => onChange(e.target.value)} placeholder="vip" />
      );
    case 'instant':
      // A moment of the customer's history: an instant, to the minute, on the
      // company's clocks, sent as RFC 3339 in UTC (a drill-down's bucket edges
      // are such instants).
      return (
        <Suspense fallback={<Input aria-label={label} disabled style={{ width: 240 }} />}>
          <DatePicker aria-label={label} data-testid={testId} style={{ width: 240 }} showTime={{ format: 'HH:mm' }} format="YYYY-MM-DD HH:mm"
            value={toDay(row.value)} onChange={(d) => onChange(d ? pickedInstant(d.second(0).millisecond(0), zone) : '')} />
        </Suspense>
      );
    case 'currency':
      return (
        <AutoComplete {...common} style={{ width: 120 }} value={row.value} options={CURRENCIES.map((c) => ({ value: c }))} placeholder="CNY"
          onChange={(c: string) => onChange(c.toUpperCase().slice(0, 3))} />
      );
    case 'date':
    case 'datetime': {
      // Days are sent as 2026-01-31; a datetime field wants an instant, so the day starts at the company's midnight.
      const out = (d: Dayjs | null, end = false) => (!d ? '' : kind === 'date' && !row.field.startsWith('created') && !row.field.startsWith('updated') ? d.format('YYYY-MM-DD') : pickedInstant(end ? d.endOf('day') : d.startOf('day'), zone));
      if (row.op === 'between') {
        return (
          <Suspense fallback={<Input aria-label={label} disabled style={{ width: 240 }} />}>
            <RangePicker aria-label={label} data-testid={testId} value={[toDay(parts[0]), toDay(parts[1])]}
              onChange={(r) => onChange(r && r[0] && r[1] ? `${out(r[0])},${out(r[1], true)}` : '')} />
          </Suspense>
        );
      }
      if (multi) return <Input {...common} value={row.value} onChange={(e) => onChange(e.target.value)} placeholder="2026-01-31,2026-02-28" />;
      return (
        <Suspense fallback={<Input aria-label={label} disabled style={{ width: 240 }} />}>
          <DatePicker aria-label={label} data-testid={testId} style={{ width: 240 }} value={toDay(row.value)} onChange={(d) => onChange(out(d, row.op === 'lte' || row.op === 'gt'))} />
        </Suspense>
      );
    }
    case 'number':
      if (row.op === 'between') {
        return (
          <Space.Compact>
            <InputNumber<string> aria-label={`${label} ${t('from')}`} stringMode style={{ width: 120 }} value={parts[0] || undefined} placeholder={t('from')}
              onChange={(v) => onChange(`${v ?? ''},${parts[1] ?? ''}`)} data-testid={testId} />
            <InputNumber<string> aria-label={`${label} ${t('to')}`} stringMode style={{ width: 120 }} value={parts[1] || undefined} placeholder={t('to')}
              onChange={(v) => onChange(`${parts[0] ?? ''},${v ?? ''}`)} />
          </Space.Compact>
        );
      }
      if (multi) return <Input {...common} value={row.value} onChange={(e) => onChange(e.target.value)} placeholder="10,20,30" />;
      return <InputNumber<string> {...common} stringMode value={row.value || undefined} onChange={(v) => onChange(v ?? '')} />;
    default:
      if (multi) return <Select {...common} mode="tags" open={false} value={parts} onChange={listValue} tokenSeparators={[',', '，']} placeholder={t('typeEnter')} />;
      return <Input {...common} value={row.value} onChange={(e) => onChange(e.target.value)} />;
  }
}

function MemberMulti({ value, onChange }: { value: string[]; onChange: (v: string[]) => void }) {
  const { t } = useTranslation('customers');
  const tenant = useTenant();
  const m = useMembers(tenant.slug);
  return <Select aria-label={t('value')} mode="multiple" style={{ width: 240 }} value={value} onChange={onChange} options={m.options} showSearch={{ optionFilterProp: 'label' }} />;
}

// TeamSelect picks one of the company's teams by name; an id the list does not
// know (a deleted team in an old link) still shows, as the id.
function TeamSelect({ label, testId, value, onChange }: { label: string; testId?: string; value: string; onChange: (v: string) => void }) {
  const { t } = useTranslation('customers');
  const tenant = useTenant();
  const teams = useTeams(tenant.slug);
  const options = (teams.data ?? []).map((x) => ({ value: x.id, label: x.name }));
  return (
    <Select aria-label={label} data-testid={testId} style={{ width: 240 }} showSearch={{ optionFilterProp: 'label' }} loading={teams.isPending}
      placeholder={t('chooseTeam')} value={value || undefined} options={options} onChange={(v) => onChange(v ?? '')} />
  );
}
