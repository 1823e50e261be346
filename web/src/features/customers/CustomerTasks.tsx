// Follow-up tasks of one customer, with due and reminder times, complete and
// snooze; TaskActions is shared with the tasks page.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Col, DatePicker, Dropdown, Form, Input, List, Row, Space, Tag, Tooltip, Typography } from 'antd';
import { BellOutlined, CheckOutlined, ClockCircleOutlined, DownOutlined } from '@ant-design/icons';
import dayjs, { type Dayjs } from 'dayjs';
import { useTranslation } from 'react-i18next';
import { errorMessage, get, post, tpath } from '../../app/api';
import { useMe, useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { ErrorState } from '../../app/states';
import { MemberSelect } from './MemberSelect';
import { changedNames } from './fields';
import { placeErrors } from './form';

export interface Task { id: string; title: string; notes?: string; due_at?: string; remind_at?: string; status: string; customer_id?: string; assignee_id: string; completed_at?: string }

/** snoozeTimes: an hour from now, tomorrow 9:00, next Monday 9:00 (local time). */
export function snoozeTimes(now: Dayjs = dayjs()) {
  const tomorrow = now.add(1, 'day').hour(9).minute(0).second(0).millisecond(0);
  const monday = now.add(((8 - now.day()) % 7) || 7, 'day').hour(9).minute(0).second(0).millisecond(0);
  return { hour: now.add(1, 'hour'), tomorrow, week: monday };
}

export function TaskActions({ task, onChanged }: { task: Task; onChanged: () => void }) {
  const { t } = useTranslation('customers');
  const tenant = useTenant();
  const { message } = App.useApp();
  const act = useMutation({
    mutationFn: (fn: () => Promise<unknown>) => fn(),
    onSuccess: () => onChanged(),
    onError: (e) => message.error(errorMessage(e)),
  });
  const s = snoozeTimes();
  const snooze = (until: Dayjs) => act.mutate(() => post(tpath(tenant.slug, `/tasks/${task.id}/snooze`), { until: until.toISOString() }));
  if (task.status !== 'open') return <Tag color="green">{t('status_' + task.status)}</Tag>;
  return (
    <Space size={4}>
      <Tooltip title={t('complete')}>
        <Button size="small" icon={<CheckOutlined />} aria-label={`${t('complete')}: ${task.title}`} loading={act.isPending}
          onClick={() => act.mutate(async () => { await post(tpath(tenant.slug, `/tasks/${task.id}/complete`)); message.success(t('taskDone')); })} />
      </Tooltip>
      <Dropdown trigger={['click']} menu={{
        items: [
          { key: 'hour', label: t('snoozeHour') },
          { key: 'tomorrow', label: t('snoozeTomorrow') },
          { key: 'week', label: t('snoozeWeek') },
        ],
        onClick: ({ key }) => snooze(s[key as keyof typeof s]),
      }}>
        <Button size="small" aria-label={`${t('snooze')}: ${task.title}`}>
          <Space size={4}><ClockCircleOutlined />{t('snooze')}<DownOutlined style={{ fontSize: 10 }} /></Space>
        </Button>
      </Dropdown>
    </Space>
  );
}

/** TaskWhen says when a task is due and when it reminds, overdue in red. */
export function TaskWhen({ task }: { task: Task }) {
  const { t } = useTranslation('customers');
  const f = useFormat();
  const overdue = task.status === 'open' && task.due_at && Date.parse(task.due_at) < Date.now();
  return (
    <Space size={12} wrap>
      {task.due_at && (
        <span style={{ color: overdue ? 'var(--c-bad)' : undefined }}>
          <ClockCircleOutlined /> {t('due')}: {f.dateTime(task.due_at)} {overdue && <Tag color="red" style={{ marginLeft: 4 }}>{t('overdue')}</Tag>}
        </span>
      )}
      {task.remind_at && (
        <span><BellOutlined /> {t('remind')}: {f.dateTime(task.remind_at)}</span>
      )}
    </Space>
  );
}

export function CustomerTasks({ id }: { id: string }) {
  const { t } = useTranslation(['customers', 'common']);
  const tenant = useTenant();
  const me = useMe().data;
  const qc = useQueryClient();
  const { message } = App.useApp();
  const [form] = Form.useForm();
  const key = ['tenant', tenant.slug, 'tasks', 'customer', id];
  const list = useQuery({
    queryKey: key,
    queryFn: () => get<{ items: Task[] }>(tpath(tenant.slug, '/tasks'), { customer_id: id, status: 'open', limit: 100 }),
  });
  const refresh = () => qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'tasks'] });
  const add = useMutation({
    mutationFn: (v: Record<string, unknown>) =>
      post(tpath(tenant.slug, '/tasks'), {
        title: (v.title as string).trim(),
        customer_id: id,
        assignee_id: v.assignee_id || undefined,
        due_at: (v.due_at as Dayjs | undefined)?.toISOString(),
        remind_at: (v.remind_at as Dayjs | undefined)?.toISOString(),
      }),
    onSuccess: () => {
      form.resetFields();
      message.success(t('taskAdded'));
      refresh();
    },
    onError: (e, v) => {
      const r = placeErrors(e, (k) => ['title', 'due_at', 'remind_at', 'assignee_id'].includes(k), v);
      form.setFields(r.fields);
      r.rest.forEach((x) => message.error(x));
    },
  });
  return (
    <Card title={t('tasks')}>
      <Form form={form} layout="vertical" onFinish={(v) => add.mutate(v)} initialValues={{ assignee_id: me?.identity.id }} data-testid="task-form"
        onValuesChange={(ch) => form.setFields(changedNames(ch).map((name) => ({ name, errors: [] })))}>
        <Form.Item name="title" label={t('taskTitle')} rules={[{ required: true, whitespace: true }]}>
          <Input placeholder={t('taskPlaceholder')} maxLength={300} />
        </Form.Item>
        <Row gutter={12}>
          <Col xs={24} sm={12}>
            <Form.Item name="due_at" label={t('due')}>
              <DatePicker showTime={{ format: 'HH:mm' }} format="YYYY-MM-DD HH:mm" style={{ width: '100%' }} />
            </Form.Item>
          </Col>
          <Col xs={24} sm={12}>
            <Form.Item name="remind_at" label={t('remind')}>
              <DatePicker showTime={{ format: 'HH:mm' }} format="YYYY-MM-DD HH:mm" style={{ width: '100%' }} />
            </Form.Item>
          </Col>
          <Col xs={24} sm={12}>
            <Form.Item name="assignee_id" label={t('assignee')}>
              <MemberSelect />
            </Form.Item>
          </Col>
          <Col xs={24} sm={12} style={{ display: 'flex', alignItems: 'flex-end' }}>
            <Form.Item style={{ width: '100%' }}>
              <Button htmlType="submit" block loading={add.isPending} data-testid="add-task">{t('addTask')}</Button>
            </Form.Item>
          </Col>
        </Row>
      </Form>
      {list.error ? (
        <ErrorState error={list.error} onRetry={() => list.refetch()} />
      ) : (
        <List
          loading={list.isPending}
          dataSource={list.data?.items ?? []}
          locale={{ emptyText: <Typography.Text type="secondary">{t('noTasks')}</Typography.Text> }}
          renderItem={(x) => (
            <List.Item actions={[<TaskActions key="a" task={x} onChanged={refresh} />]}>
              <List.Item.Meta title={x.title} description={<TaskWhen task={x} />} />
            </List.Item>
          )}
        />
      )}
    </Card>
  );
}
