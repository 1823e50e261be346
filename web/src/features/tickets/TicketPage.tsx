// One ticket: its details with priority and assignee controls, the status
// moves its rules allow, and the conversation of public replies (emailed to
// the requester) and internal notes with a composer.
import './locales';
import { useState } from 'react';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Breadcrumb, Button, Card, Col, Descriptions, Form, Input, List, Rate, Row, Segmented, Select, Space, Tag, Typography, Upload } from 'antd';
import type { UploadFile } from 'antd';
import { LockOutlined, MailOutlined, PaperClipOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router-dom';
import { ApiError, errorMessage, get, patch, post, tpath } from '../../app/api';
import { useTenant } from '../../app/session';
import { useFormat } from '../../app/useFormat';
import { EmptyState, ErrorState, Loading } from '../../app/states';
import { useMembers } from '../customers/api';
import { MemberSelect } from '../customers/MemberSelect';
import { type Attachment, MESSAGE_FILES, type Message, type Page, PRIORITIES, type Status, type Ticket, fileSize, nextStatuses, slaState, ticketNumber, withFiles } from './api';
import { CustomerName, PriorityTag, StatusTag } from './shared';

export default function TicketPage() {
  const { t } = useTranslation('tickets');
  const { id } = useParams();
  const tenant = useTenant();
  const f = useFormat();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const members = useMembers(tenant.slug);
  const key = ['tenant', tenant.slug, 'ticket', id];
  const q = useQuery({ queryKey: key, queryFn: () => get<Ticket>(tpath(tenant.slug, `/tickets/${id}`)) });
  const refresh = (tk?: Ticket) => {
    if (tk) qc.setQueryData(key, tk);
    void qc.invalidateQueries({ queryKey: ['tenant', tenant.slug, 'tickets'] });
    void qc.invalidateQueries({ queryKey: [...key, 'messages'] });
  };
  const onError = (err: unknown) => {
    if (err instanceof ApiError && err.status === 409) {
      void qc.invalidateQueries({ queryKey: key });
      void message.warning(err.errors.some((e) => e.location === 'body.version') ? t('stale') : errorMessage(err));
      return;
    }
    void message.error(errorMessage(err));
  };
  const update = useMutation({
    mutationFn: (body: Record<string, unknown>) => patch<Ticket>(tpath(tenant.slug, `/tickets/${id}`), { version: q.data!.version, ...body }),
    onSuccess: refresh,
    onError,
  });
  const move = useMutation({
    mutationFn: (status: Status) => post<Ticket>(tpath(tenant.slug, `/tickets/${id}/status`), { status, version: q.data!.version }),
    onSuccess: refresh,
    onError,
  });
  if (q.isPending) return <Loading />;
  if (q.error) return <ErrorState error={q.error} onRetry={() => q.refetch()} />;
  const tk = q.data;
  const closed = tk.status === 'closed';
  return (
    <div>
      <Breadcrumb style={{ marginBottom: 8 }} items={[{ title: <Link to={`/t/${tenant.slug}/tickets`}>{t('all')}</Link> }, { title: ticketNumber(tk) }]} />
      <Space align="center" wrap style={{ marginBottom: 16 }}>
        <Typography.Text type="secondary" style={{ fontSize: 20 }}>{ticketNumber(tk)}</Typography.Text>
        <Typography.Title level={1} style={{ margin: 0, fontSize: 26 }} data-testid="ticket-subject">{tk.subject}</Typography.Title>
        <StatusTag status={tk.status} />
        <PriorityTag priority={tk.priority} />
      </Space>
      {tk.merged_into_id && (
        <Alert type="info" showIcon style={{ marginBottom: 16 }} data-testid="merged-into"
          message={<Link to={`/t/${tenant.slug}/tickets/${tk.merged_into_id}`}>{t('mergedInto')}</Link>} />
      )}
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={9}>
          <Card title={t('details')}>
            <Descriptions column={1} size="small" colon={false} styles={{ label: { width: 120 } }}>
              <Descriptions.Item label={t('requester')}><CustomerName id={tk.requester_id} /></Descriptions.Item>
              <Descriptions.Item label={t('channel')}>{t('channel_' + tk.channel)}</Descriptions.Item>
              <Descriptions.Item label={t('type')}>{t('type_' + tk.type)}</Descriptions.Item>
              <Descriptions.Item label={t('priority')}>
                <Select size="small" style={{ width: 140 }} aria-label={t('priority')} disabled={closed} value={tk.priority}
                  onChange={(v) => update.mutate({ priority: v })} options={PRIORITIES.map((p) => ({ value: p, label: t('priority_' + p) }))} />
              </Descriptions.Item>
              <Descriptions.Item label={t('assignee')}>
                {closed ? members.name(tk.assignee_id) ?? '' : (
                  <MemberSelect aria-label={t('assignee')} value={tk.assignee_id} style={{ width: 200 }}
                    onChange={(v) => update.mutate(v ? { assignee_id: v } : { clear_assignee: true })} />
                )}
              </Descriptions.Item>
              <Descriptions.Item label={t('tags')}>{tk.tags.map((x) => <Tag key={x} bordered={false}>{x}</Tag>)}</Descriptions.Item>
              <Descriptions.Item label={t('created')}>{f.dateTime(tk.created_at)}</Descriptions.Item>
              <Descriptions.Item label={t('firstResponse')}>{f.dateTime(tk.first_responded_at)}</Descriptions.Item>
              {tk.first_response_due_at && (
                <Descriptions.Item label={t('firstResponseDue')}>
                  <SLA due={tk.first_response_due_at} doneAt={tk.first_responded_at} paused={!!tk.sla_paused_at} />
                </Descriptions.Item>
              )}
              {tk.resolution_due_at && (
                <Descriptions.Item label={t('resolutionDue')}>
                  <SLA due={tk.resolution_due_at} doneAt={tk.solved_at} paused={!!tk.sla_paused_at} />
                </Descriptions.Item>
              )}
              {tk.csat_rating !== undefined && (
                <Descriptions.Item label={t('csatRating')}>
                  <span data-testid="csat-rating">
                    <Rate disabled value={tk.csat_rating} style={{ fontSize: 14 }} /> {t('csat_star_' + tk.csat_rating)}
                    {tk.csat_comment ? <Typography.Paragraph type="secondary" style={{ margin: 0 }}>“{tk.csat_comment}”</Typography.Paragraph> : null}
                  </span>
                </Descriptions.Item>
              )}
            </Descriptions>
            {tk.description && <Typography.Paragraph style={{ marginTop: 12, whiteSpace: 'pre-wrap' }}>{tk.description}</Typography.Paragraph>}
            <TicketFiles ticket={tk} />
            {nextStatuses(tk.status).length > 0 && (
              <Space wrap style={{ marginTop: 12 }}>
                <Typography.Text type="secondary">{t('changeStatus')}</Typography.Text>
                {nextStatuses(tk.status).map((s) => (
                  <Button key={s} size="small" loading={move.isPending && move.variables === s} onClick={() => move.mutate(s)} data-testid={`status-${s}`}>{t('status_' + s)}</Button>
                ))}
              </Space>
            )}
          </Card>
        </Col>
        <Col xs={24} xl={15}>
          <Conversation ticket={tk} onSent={refresh} />
        </Col>
      </Row>
    </div>
  );
}

function SLA({ due, doneAt, paused }: { due: string; doneAt?: string; paused: boolean }) {
  const { t } = useTranslation('tickets');
  const f = useFormat();
  const state = slaState(due, doneAt, paused, Date.now());
  const color = { met: 'green', breached: 'red', paused: 'default', running: 'blue', none: 'default' }[state];
  return (
    <Space size={6} wrap>
      <span style={{ whiteSpace: 'nowrap' }}>{f.dateTime(due)}</span>
      <Tag color={color} data-testid="sla-state">{t('sla_' + state)}</Tag>
    </Space>
  );
}

function Conversation({ ticket, onSent }: { ticket: Ticket; onSent: (tk: Ticket) => void }) {
  const { t } = useTranslation('tickets');
  const tenant = useTenant();
  const f = useFormat();
  const members = useMembers(tenant.slug);
  const [kind, setKind] = useState<'reply' | 'note'>('reply');
  const [body, setBody] = useState('');
  const [status, setStatus] = useState<string>('');
  const [files, setFiles] = useState<UploadFile[]>([]);
  const [error, setError] = useState('');
  const msgs = useInfiniteQuery({
    queryKey: ['tenant', tenant.slug, 'ticket', ticket.id, 'messages'],
    queryFn: ({ pageParam }) => get<Page<Message>>(tpath(tenant.slug, `/tickets/${ticket.id}/messages`), { limit: 100, ...(pageParam ? { cursor: pageParam } : {}) }),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor || undefined,
  });
  const send = useMutation({
    mutationFn: () => files.length > 0
      ? post<{ ticket: Ticket }>(tpath(tenant.slug, `/tickets/${ticket.id}/messages/with-files`), withFiles({ kind, body, status }, files.map((f) => f.originFileObj as File)))
      : post<{ ticket: Ticket }>(tpath(tenant.slug, `/tickets/${ticket.id}/messages`), { kind, body, ...(status ? { status } : {}) }),
    onSuccess: (r) => {
      setBody('');
      setStatus('');
      setFiles([]);
      setError('');
      onSent(r.ticket);
    },
    onError: (err) => setError(errorMessage(err)),
  });
  const items = msgs.data?.pages.flatMap((p) => p.items) ?? [];
  const after = nextStatuses(ticket.status).filter((s) => s !== 'closed');
  return (
    <Card title={t('conversation')}>
      {msgs.error ? <ErrorState error={msgs.error} onRetry={() => msgs.refetch()} /> : (
        <List<Message> loading={msgs.isPending} dataSource={items} locale={{ emptyText: <EmptyState text={t('noMessages')} /> }}
          renderItem={(m) => (
            <List.Item style={{ display: 'block', background: m.kind === 'note' ? 'var(--c-note, #fffbe6)' : undefined, padding: 12, borderRadius: 6 }} data-testid={`message-${m.seq}`}>
              <Space size={8} wrap style={{ marginBottom: 4 }}>
                <Typography.Text strong>{members.name(m.author_id) ?? ''}</Typography.Text>
                <Tag bordered={false} icon={m.kind === 'note' ? <LockOutlined /> : <MailOutlined />}>{t(m.kind)}</Tag>
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>{f.dateTime(m.created_at)}</Typography.Text>
                {m.email_state && (
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {t({ sent: 'emailed', pending: 'emailPending', no_address: 'noAddress' }[m.email_state])}
                  </Typography.Text>
                )}
              </Space>
              <Typography.Paragraph style={{ whiteSpace: 'pre-wrap', margin: 0 }}>{m.body}</Typography.Paragraph>
              <Files files={m.attachments} />
            </List.Item>
          )} />
      )}
      {ticket.status !== 'closed' && (
        <Form layout="vertical" style={{ marginTop: 16 }} onFinish={() => send.mutate()}>
          <Segmented value={kind} onChange={(v) => setKind(v as 'reply' | 'note')} style={{ marginBottom: 8 }}
            options={[{ value: 'reply', label: t('reply') }, { value: 'note', label: t('note') }]} />
          <Typography.Paragraph type="secondary" style={{ fontSize: 12, marginBottom: 8 }}>{t(kind === 'reply' ? 'replyHint' : 'noteHint')}</Typography.Paragraph>
          {error && <Alert type="error" showIcon style={{ marginBottom: 8 }} message={error} />}
          <Form.Item>
            <Input.TextArea rows={4} value={body} onChange={(e) => setBody(e.target.value)} maxLength={50000} aria-label={t(kind)} data-testid="message-body" />
          </Form.Item>
          <Form.Item extra={t('attachHint', { max: MESSAGE_FILES.max, size: fileSize(MESSAGE_FILES.maxBytes) })}>
            <Upload multiple accept={MESSAGE_FILES.accept} fileList={files} maxCount={MESSAGE_FILES.max}
              beforeUpload={(f) => {
                if (f.size > MESSAGE_FILES.maxBytes) {
                  setError(t('fileTooLarge', { name: f.name, size: fileSize(MESSAGE_FILES.maxBytes) }));
                  return Upload.LIST_IGNORE;
                }
                return false; // kept here and sent with the message
              }}
              onChange={({ fileList }) => setFiles(fileList)}>
              <Button icon={<PaperClipOutlined />} data-testid="attach">{t('attach')}</Button>
            </Upload>
          </Form.Item>
          <Space wrap>
            <Select style={{ width: 200 }} aria-label={t('statusAfter')} value={status} onChange={setStatus}
              options={[{ value: '', label: `${t('statusAfter')}: ${t('keepStatus')}` }, ...after.map((s) => ({ value: s, label: `${t('statusAfter')}: ${t('status_' + s)}` }))]} />
            <Button type="primary" htmlType="submit" disabled={!body.trim()} loading={send.isPending} data-testid="send-message">{t('send')}</Button>
          </Space>
        </Form>
      )}
    </Card>
  );
}

/** Files lists attachments as download links with their sizes. */
function Files({ files }: { files?: Attachment[] }) {
  if (!files?.length) return null;
  return (
    <div style={{ marginTop: 6 }}>
      <Space direction="vertical" size={2} data-testid="attachments">
        {files.map((a) => (
          <a key={a.id} href={a.download_url} download={a.filename}>
            <PaperClipOutlined /> {a.filename} <Typography.Text type="secondary" style={{ fontSize: 12 }}>({fileSize(a.size_bytes)})</Typography.Text>
          </a>
        ))}
      </Space>
    </div>
  );
}

/** TicketFiles shows the files sent with the ticket itself (the hosted form's). */
function TicketFiles({ ticket }: { ticket: Ticket }) {
  const tenant = useTenant();
  const q = useQuery({
    queryKey: ['tenant', tenant.slug, 'ticket', ticket.id, 'attachments'],
    queryFn: () => get<{ items: Attachment[] }>(tpath(tenant.slug, `/tickets/${ticket.id}/attachments`)),
  });
  return <Files files={q.data?.items.filter((a) => !a.message_id)} />;
}
