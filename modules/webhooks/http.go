package webhooks

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

type body[T any] struct{ Body *T }

func reply[T any](v *T, err error) (*body[T], error) {
	if err != nil {
		return nil, err
	}
	return &body[T]{Body: v}, nil
}

// RotateInput sets how long the old secret stays valid.
type RotateInput struct {
	GraceHours *int `json:"grace_hours,omitempty" minimum:"0" maximum:"168" doc:"hours the old secret still signs deliveries; default 24"`
}

type idIn struct {
	ID uuid.UUID `path:"id"`
}

type deliveryIn struct {
	ID         uuid.UUID `path:"id"`
	DeliveryID uuid.UUID `path:"delivery_id"`
}

// Routes registers the webhook operations; every one needs webhooks.manage.
func (m *Module) Routes(api huma.API, _ fiber.Router) {
	type listOut struct {
		Body struct {
			Items []Subscription `json:"items"`
		} `nameHint:"WebhookList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-webhooks", Method: http.MethodGet, Path: "/webhooks", Summary: "List webhook subscriptions",
		Description: "Every subscription of the company, oldest first, without secrets. Needs webhooks.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, _ *struct{}) (*listOut, error) {
			items, err := m.ListSubscriptions(ctx, tn.ID)
			if err != nil {
				return nil, err
			}
			out := &listOut{}
			out.Body.Items = items
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "create-webhook", Method: http.MethodPost, Path: "/webhooks", DefaultStatus: 201, Summary: "Subscribe a URL to events",
		Description: "Saves a subscription and answers with its signing secret, shown this once. The URL must be https and reach a public address (checked after DNS resolution, and again on every delivery). Needs webhooks.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "The company has the most subscriptions it may keep."})},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct{ Body SubscriptionInput }) (*body[WithSecret], error) {
			return reply(m.CreateSubscription(ctx, tn.ID, in.Body))
		}))
	huma.Register(api, huma.Operation{OperationID: "get-webhook", Method: http.MethodGet, Path: "/webhooks/{id}", Summary: "Get a webhook subscription",
		Description: "The subscription without its secret (its last four characters only). Needs webhooks.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *idIn) (*body[Subscription], error) {
			return reply(m.GetSubscription(ctx, tn.ID, in.ID))
		}))
	huma.Register(api, huma.Operation{OperationID: "update-webhook", Method: http.MethodPatch, Path: "/webhooks/{id}", Summary: "Change a webhook subscription",
		Description: "Changes the URL, the events, the description, or switches the subscription on or off. Switching it on clears its failure streak; its failed deliveries can then be replayed. Needs webhooks.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct {
			ID   uuid.UUID `path:"id"`
			Body SubscriptionPatch
		}) (*body[Subscription], error) {
			return reply(m.UpdateSubscription(ctx, tn.ID, in.ID, in.Body))
		}))
	huma.Register(api, huma.Operation{OperationID: "delete-webhook", Method: http.MethodDelete, Path: "/webhooks/{id}", DefaultStatus: 204, Summary: "Delete a webhook subscription",
		Description: "Removes the subscription and its delivery log; nothing more is sent to it. Needs webhooks.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *idIn) (*struct{}, error) {
			return nil, m.DeleteSubscription(ctx, tn.ID, in.ID)
		}))
	huma.Register(api, huma.Operation{OperationID: "rotate-webhook-secret", Method: http.MethodPost, Path: "/webhooks/{id}/rotate-secret", Summary: "Give a subscription a new secret",
		Description: "Answers with the new secret, shown this once. For grace_hours (default 24, at most 168) deliveries carry a signature with the old secret too, so the receiver can switch over without missing one. Needs webhooks.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct {
			ID   uuid.UUID `path:"id"`
			Body RotateInput
		}) (*body[WithSecret], error) {
			grace := 24 * time.Hour
			if in.Body.GraceHours != nil {
				grace = time.Duration(*in.Body.GraceHours) * time.Hour
			}
			return reply(m.RotateSecret(ctx, tn.ID, in.ID, grace))
		}))
	huma.Register(api, huma.Operation{OperationID: "test-webhook", Method: http.MethodPost, Path: "/webhooks/{id}/test", DefaultStatus: 202, Summary: "Send a test event",
		Description: "Queues a webhook.test event to this subscription at once; its delivery appears in the log. Needs webhooks.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *idIn) (*body[Delivery], error) {
			return reply(m.SendTest(ctx, tn.ID, in.ID))
		}))
	type deliveriesOut struct {
		Body struct {
			Items      []Delivery `json:"items"`
			NextCursor string     `json:"next_cursor,omitempty"`
		} `nameHint:"WebhookDeliveryList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-webhook-deliveries", Method: http.MethodGet, Path: "/webhooks/{id}/deliveries", Summary: "A subscription's delivery log",
		Description: "Deliveries newest first, with their state, attempts, the last answer's status, latency and first KB. Kept 30 days. Needs webhooks.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct {
			ID uuid.UUID `path:"id"`
			DeliveryFilter
		}) (*deliveriesOut, error) {
			items, next, err := m.ListDeliveries(ctx, tn.ID, in.ID, in.DeliveryFilter)
			if err != nil {
				return nil, err
			}
			out := &deliveriesOut{}
			out.Body.Items, out.Body.NextCursor = items, next
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "get-webhook-delivery", Method: http.MethodGet, Path: "/webhooks/{id}/deliveries/{delivery_id}", Summary: "One delivery with its body",
		Description: "The delivery as logged, with the body it sent. Needs webhooks.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *deliveryIn) (*body[Delivery], error) {
			return reply(m.GetDelivery(ctx, tn.ID, in.ID, in.DeliveryID))
		}))
	huma.Register(api, huma.Operation{OperationID: "replay-webhook-delivery", Method: http.MethodPost, Path: "/webhooks/{id}/deliveries/{delivery_id}/replay", DefaultStatus: 202, Summary: "Send a delivery again",
		Description: "Queues a new delivery of the same event with the same body (the same event id and sequence, so a receiver that saw it can tell). Needs webhooks.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *deliveryIn) (*body[Delivery], error) {
			return reply(m.Replay(ctx, tn.ID, in.ID, in.DeliveryID))
		}))
	type replayOut struct {
		Body struct {
			Queued int `json:"queued"`
		} `nameHint:"WebhookReplayResult"`
	}
	huma.Register(api, huma.Operation{OperationID: "replay-webhook-deliveries", Method: http.MethodPost, Path: "/webhooks/{id}/replay", DefaultStatus: 202, Summary: "Send many deliveries again",
		Description: "Queues again every delivery of the subscription in a state (failed, by default) created in a time range, oldest first: at most 10,000 at once. Needs webhooks.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct {
			ID   uuid.UUID `path:"id"`
			Body ReplayInput
		}) (*replayOut, error) {
			n, err := m.ReplayMany(ctx, tn.ID, in.ID, in.Body)
			if err != nil {
				return nil, err
			}
			out := &replayOut{}
			out.Body.Queued = n
			return out, nil
		}))
}
