package tickets

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/httpx"
	"github.com/clientele-crm/clientele/platform/tenancy"
)

// APITags describes the tag of the ticket operations.
func (m *Module) APITags() []*huma.Tag {
	return []*huma.Tag{
		{Name: "tickets", Description: "Service tickets: requests, complaints and feedback, numbered per company, with their conversation of public replies and internal notes."},
		{Name: "ticket-teams", Description: "Which members of a team take its tickets in turn (round-robin), and their caps of open tickets."},
		{Name: "sla-policies", Description: "SLA policies: targets for the first response, next response and resolution of the tickets whose priority, type, channel or tags they match, counted around the clock or in business hours."},
		{Name: "ticket-form", Description: "The company's hosted form for feedback, complaints and requests: its settings, and (under /api/v1/public) the form itself, which needs no sign-in."},
		{Name: "csat", Description: "Satisfaction surveys: the link sent to a solved ticket's requester to rate it 1 to 5, which needs no sign-in, works once and expires."},
		{Name: "sla-calendars", Description: "Business-hour calendars for SLA targets: a time zone, working hours per weekday and holidays, for the company or one team."},
	}
}

type ticketOut struct{ Body *Ticket }

type ticketIDIn struct {
	ID uuid.UUID `path:"id" doc:"the ticket id"`
}

// ticketListIn documents the list's parameters; Resolve reads the whole query
// string, field[op] filters included, the way saved views keep it.
type ticketListIn struct {
	filter Filter

	Status    []string `query:"status,explode" doc:"new, open, pending, on_hold, solved or closed; repeat or comma-separate for several"`
	Priority  []string `query:"priority,explode" doc:"low, normal, high or urgent"`
	Type      []string `query:"type,explode" doc:"question, incident, complaint, feedback or request"`
	Channel   []string `query:"channel,explode" doc:"email, phone, web_form, chat or social"`
	Assignee  string   `query:"assignee" maxLength:"40" doc:"a member id, me, or none for unassigned tickets"`
	Team      string   `query:"team" maxLength:"40" doc:"a team id, or none"`
	Requester string   `query:"requester_id" format:"uuid" doc:"the tickets of one customer"`
	Tag       []string `query:"tag,explode" doc:"only tickets with every given tag"`
	Merged    string   `query:"merged" enum:"true,false," doc:"false: leave out tickets merged into another (as every tickets metric does); true: only those"`
	WithSLA   string   `query:"with_sla" enum:"true,false," doc:"true: only tickets with an SLA target (first response or resolution), as SLA compliance counts them; false: only those without"`
	Sort      string   `query:"sort" maxLength:"80" doc:"created_at, updated_at, number, sla_due_at (the earliest due time of the targets still running; only tickets whose SLA clock runs) or custom.<key> of a sortable custom field; - for descending; default -created_at"`
	View      string   `query:"view_id" format:"uuid" doc:"apply a saved view of tickets: its filter, which other filters narrow further, and its sort unless sort is given"`
	Cursor    string   `query:"cursor" maxLength:"300"`
	Limit     int      `query:"limit" minimum:"1" maximum:"200" default:"50"`
}

// Resolve reads the filters, field[op]=value ones included, which Huma's fixed
// parameters cannot express.
func (in *ticketListIn) Resolve(ctx huma.Context) []error {
	u := ctx.URL()
	f, err := filterFromValues(u.Query(), "query")
	if err != nil {
		var out []error
		for _, fe := range errs.From(err).Errors {
			out = append(out, &huma.ErrorDetail{Location: fe.Location, Message: fe.Message, Value: fe.Value})
		}
		return out
	}
	in.filter = f
	return nil
}

type ticketListOut struct {
	Body ticketPage
}

// Routes registers the ticket operations.
func (m *Module) Routes(api huma.API, _ fiber.Router) {
	huma.Register(api, huma.Operation{OperationID: "create-ticket", Method: http.MethodPost, Path: "/tickets", DefaultStatus: 201, Summary: "Create a ticket",
		Description: "A ticket gets the company's next number (#1001 onwards). The requester is a customer id, or an email or phone: the customer holding it, or a new lead made of it (requester_created says so; making a lead needs profiles.write). Needs tickets.write.",
		Responses:   httpx.Refusals(map[int]string{409: "A unique custom value belongs to another ticket."}),
	},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct{ Body TicketInput }) (*ticketOut, error) {
			t, err := m.CreateTicket(ctx, tn.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return &ticketOut{Body: t}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "list-tickets", Method: http.MethodGet, Path: "/tickets", Summary: "List tickets",
		Description: "Keyset pages (pass next_cursor as cursor) of the tickets within your scope, newest first by default. Besides the parameters below, filter with field[op]=value: created_at, updated_at, first_responded_at, solved_at and csat_rated_at (eq, gt, gte, lt, lte, between; a date or an RFC 3339 time: the times the tickets metrics count by, so a dashboard's point opens its tickets), number (eq, gt, gte, lt, lte, in), sla_due_at (gt, gte, lt, lte, between: the inbox's breaching soon is sla_due_at[lte]=<in an hour>&sort=sla_due_at) and custom.<key> of a filterable custom field. Needs tickets.read."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *ticketListIn) (*ticketListOut, error) {
			f := in.filter
			f.Cursor, f.Limit = in.Cursor, in.Limit
			if in.View != "" {
				vid, perr := uuid.Parse(in.View)
				if perr != nil {
					return nil, errs.Field("query.view_id", "must be a saved view id")
				}
				if err := m.applyView(ctx, tn.ID, vid, &f); err != nil {
					return nil, err
				}
			}
			out := &ticketListOut{}
			var err error
			out.Body.Items, out.Body.NextCursor, err = m.ListTickets(ctx, tn.ID, f)
			return out, err
		}))
	huma.Register(api, huma.Operation{OperationID: "get-ticket", Method: http.MethodGet, Path: "/tickets/{id}", Summary: "Get a ticket",
		Description: "One ticket with its custom values; sensitive values are masked unless you hold pii.read. A ticket outside your scope answers 404. Needs tickets.read."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *ticketIDIn) (*ticketOut, error) {
			t, err := m.GetTicket(ctx, tn.ID, in.ID)
			if err != nil {
				return nil, err
			}
			return &ticketOut{Body: t}, nil
		}))
	type updateIn struct {
		ID   uuid.UUID `path:"id"`
		Body TicketUpdate
	}
	huma.Register(api, huma.Operation{OperationID: "update-ticket", Method: http.MethodPatch, Path: "/tickets/{id}", Summary: "Change a ticket",
		Description: "Changes the given fields of the version you read and leaves the others; the status changes through POST .../status. Needs tickets.write.",
		Responses:   httpx.Refusals(map[int]string{409: "The ticket changed since you read it (version), it is closed, or a unique custom value belongs to another ticket."}),
	},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *updateIn) (*ticketOut, error) {
			t, err := m.UpdateTicket(ctx, tn.ID, in.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return &ticketOut{Body: t}, nil
		}))
	type statusIn struct {
		ID   uuid.UUID `path:"id"`
		Body struct {
			Status  string `json:"status" enum:"open,pending,on_hold,solved,closed"`
			Version int    `json:"version,omitempty" minimum:"0" doc:"the version you read; when given, 409 if the ticket changed since"`
		} `nameHint:"TicketStatusChange"`
	}
	huma.Register(api, huma.Operation{OperationID: "change-ticket-status", Method: http.MethodPost, Path: "/tickets/{id}/status", Summary: "Change a ticket's status",
		Description: "Moves a ticket under the rules: never back to new; only a solved ticket closes; a closed ticket is final; solved reopens to open. Needs tickets.write.",
		Responses:   httpx.Refusals(map[int]string{409: "The ticket has this status already, is closed, or changed since the version you sent."}),
	},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *statusIn) (*ticketOut, error) {
			t, err := m.ChangeStatus(ctx, tn.ID, in.ID, in.Body.Status, in.Body.Version)
			if err != nil {
				return nil, err
			}
			return &ticketOut{Body: t}, nil
		}))
	type messagesIn struct {
		ID     uuid.UUID `path:"id"`
		Kind   string    `query:"kind" enum:"reply,note," doc:"only replies or only notes"`
		Cursor string    `query:"cursor" maxLength:"300"`
		Limit  int       `query:"limit" minimum:"1" maximum:"200" default:"50"`
	}
	type messagesOut struct {
		Body struct {
			Items      []Message `json:"items"`
			NextCursor string    `json:"next_cursor,omitempty"`
		} `nameHint:"TicketMessagePage"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-ticket-messages", Method: http.MethodGet, Path: "/tickets/{id}/messages", Summary: "Read a ticket's conversation",
		Description: "The public replies and internal notes of a ticket, oldest first, in keyset pages. Needs tickets.read."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *messagesIn) (*messagesOut, error) {
			out := &messagesOut{}
			var err error
			out.Body.Items, out.Body.NextCursor, err = m.ListMessages(ctx, tn.ID, in.ID, MessageFilter{Kind: in.Kind, Cursor: in.Cursor, Limit: in.Limit})
			return out, err
		}))
	type addIn struct {
		ID   uuid.UUID `path:"id"`
		Body MessageInput
	}
	type addOut struct {
		Body struct {
			Message *Message `json:"message"`
			Ticket  *Ticket  `json:"ticket"`
		} `nameHint:"TicketMessageAdded"`
	}
	huma.Register(api, huma.Operation{OperationID: "add-ticket-message", Method: http.MethodPost, Path: "/tickets/{id}/messages", DefaultStatus: 201,
		Summary:     "Reply to a ticket or add a note",
		Description: "A public reply is emailed to the requester (their first email address) through the configured mail sender; a note stays internal. A status may be set with it under the rules; a reply to a new ticket opens it. Needs tickets.write.",
		Responses:   httpx.Refusals(map[int]string{409: "The ticket is closed."}),
	},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *addIn) (*addOut, error) {
			msg, t, err := m.AddMessage(ctx, tn.ID, in.ID, in.Body)
			if err != nil {
				return nil, err
			}
			out := &addOut{}
			out.Body.Message, out.Body.Ticket = msg, t
			return out, nil
		}))
	m.attachmentRoutes(api)
	type mergeIn struct {
		ID   uuid.UUID `path:"id" doc:"the ticket to merge and close"`
		Body struct {
			IntoID uuid.UUID `json:"into_id" doc:"the ticket of the same requester that keeps the conversation"`
		} `nameHint:"TicketMerge"`
	}
	huma.Register(api, huma.Operation{OperationID: "merge-ticket", Method: http.MethodPost, Path: "/tickets/{id}/merge", Summary: "Merge a ticket into another",
		Description: "Moves this ticket's conversation onto into_id (a ticket of the same requester), notes it there, closes this one with a link (merged_into_id), and moves tasks about it along. Answers the ticket merged into. Needs tickets.write.",
		Responses:   httpx.Refusals(map[int]string{409: "One of the tickets is closed."}),
	},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *mergeIn) (*ticketOut, error) {
			t, err := m.MergeTicket(ctx, tn.ID, in.ID, in.Body.IntoID)
			if err != nil {
				return nil, err
			}
			return &ticketOut{Body: t}, nil
		}))
	m.agentRoutes(api)
	m.policyRoutes(api)
	m.calendarRoutes(api)
	type formOut struct{ Body *FormSettings }
	huma.Register(api, huma.Operation{OperationID: "get-ticket-form-settings", Method: http.MethodGet, Path: "/ticket-form", Summary: "Get the hosted form's settings",
		Description: "Whether the company's public form takes submissions, and its title and introduction (empty: the default texts). The form is at /api/v1/public/{tenant}/ticket-form. Needs tickets.read."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, _ *struct{}) (*formOut, error) {
			s, err := m.GetFormSettings(ctx, tn.ID)
			if err != nil {
				return nil, err
			}
			return &formOut{Body: s}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "set-ticket-form-settings", Method: http.MethodPut, Path: "/ticket-form", Summary: "Set the hosted form's settings",
		Description: "Turns the public form on or off and sets its title and introduction. Needs tickets.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct{ Body FormSettings }) (*formOut, error) {
			s, err := m.SaveFormSettings(ctx, tn.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return &formOut{Body: s}, nil
		}))
}

// PublicRoutes registers the operations for people who do not sign in: a
// solved ticket's survey link and the company's hosted form.
func (m *Module) PublicRoutes(api huma.API) {
	type tokenIn struct {
		Token string `path:"token" maxLength:"64" doc:"the token of the survey link"`
	}
	type surveyOut struct{ Body *Survey }
	huma.Register(api, huma.Operation{OperationID: "get-csat-survey", Method: http.MethodGet, Path: "/csat/{token}", Summary: "Open a survey link",
		Tags:        []string{"csat"},
		Description: "The ticket the link asks about, in the company's language, and whether it is rated already. No sign-in: the token is the key. Limited per client address and company.",
		Responses:   httpx.Refusals(map[int]string{410: "The link has expired."}),
	},
		func(ctx context.Context, in *tokenIn) (*surveyOut, error) {
			s, err := m.ShowSurvey(ctx, in.Token)
			if err != nil {
				return nil, err
			}
			return &surveyOut{Body: s}, nil
		})
	type rateIn struct {
		Token string `path:"token" maxLength:"64" doc:"the token of the survey link"`
		Body  RatingInput
	}
	huma.Register(api, huma.Operation{OperationID: "rate-ticket", Method: http.MethodPost, Path: "/csat/{token}", Summary: "Rate a solved ticket",
		Tags:        []string{"csat"},
		Description: "Stores the requester's rating (1 to 5) and comment; it shows on the ticket. A link works once. No sign-in: the token is the key. Limited per client address and company.",
		Responses:   httpx.Refusals(map[int]string{409: "The ticket is rated already: a link works once.", 410: "The link has expired."}),
	},
		func(ctx context.Context, in *rateIn) (*surveyOut, error) {
			s, err := m.RateTicket(ctx, in.Token, in.Body)
			if err != nil {
				return nil, err
			}
			return &surveyOut{Body: s}, nil
		})
	type formOut struct{ Body *PublicForm }
	huma.Register(api, huma.Operation{OperationID: "get-ticket-form", Method: http.MethodGet, Path: "/ticket-form", Summary: "Open the company's form",
		Tags:        []string{"ticket-form"},
		Description: "The form's title, introduction and the kinds of message it takes, in the company's language; 404 when the company turned it off. No sign-in."},
		func(ctx context.Context, _ *struct{}) (*formOut, error) {
			f, err := m.ShowForm(ctx)
			if err != nil {
				return nil, err
			}
			return &formOut{Body: f}, nil
		})
	type receiptOut struct{ Body *FormReceipt }
	type formFilesIn struct {
		RawBody huma.MultipartFormFiles[formWithFiles]
	}
	huma.Register(api, huma.Operation{OperationID: "submit-ticket-form-with-files", Method: http.MethodPost, Path: "/ticket-form/with-files", DefaultStatus: 201,
		Summary:      "Send the company's form with files",
		Tags:         []string{"ticket-form"},
		Description:  fmt.Sprintf("The same form as POST .../ticket-form, as a multipart form with up to %d files (field files, at most %d MB each: %s). A refused file refuses the whole submission: no ticket is made. No sign-in; limited per client address and company.", MaxFormFiles, MaxFormAttachmentBytes>>20, allowedList),
		MaxBodyBytes: MaxFormFiles*MaxFormAttachmentBytes + 1<<20,
		Responses:    httpx.Refusals(map[int]string{413: "A file is over the size limit.", 415: "A file is not of a kind the form takes."}),
	},
		func(ctx context.Context, in *formFilesIn) (*receiptOut, error) {
			d := in.RawBody.Data()
			r, err := m.SubmitFormWithFiles(ctx, FormInput{Name: d.Name, Email: d.Email, Phone: d.Phone, Type: d.Type, Subject: d.Subject, Message: d.Message, Website: d.Website},
				uploads(d.Files))
			if err != nil {
				return nil, err
			}
			return &receiptOut{Body: r}, nil
		})
	huma.Register(api, huma.Operation{OperationID: "submit-ticket-form", Method: http.MethodPost, Path: "/ticket-form", DefaultStatus: 201, Summary: "Send the company's form",
		Tags:        []string{"ticket-form"},
		Description: "Makes a ticket (channel web_form) of the message; the sender is matched to a customer by email or phone, or becomes a lead. Answers the ticket number. No sign-in; limited per client address and company; the website field must stay empty."},
		func(ctx context.Context, in *struct{ Body FormInput }) (*receiptOut, error) {
			r, err := m.SubmitForm(ctx, in.Body)
			if err != nil {
				return nil, err
			}
			return &receiptOut{Body: r}, nil
		})
}

// calendarRoutes registers the business-hour calendar operations.
func (m *Module) calendarRoutes(api huma.API) {
	type calendarsOut struct {
		Body struct {
			Items []Calendar `json:"items"`
		} `nameHint:"SLACalendarList"`
	}
	type calendarOut struct{ Body *Calendar }
	type idIn struct {
		ID uuid.UUID `path:"id" doc:"the calendar id"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-sla-calendars", Method: http.MethodGet, Path: "/sla-calendars", Summary: "List business-hour calendars",
		Description: "The company's calendars by name: the default one, and those of teams. Needs tickets.read."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, _ *struct{}) (*calendarsOut, error) {
			items, err := m.ListCalendars(ctx, tn.ID)
			if err != nil {
				return nil, err
			}
			out := &calendarsOut{}
			out.Body.Items = items
			return out, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "get-sla-calendar", Method: http.MethodGet, Path: "/sla-calendars/{id}", Summary: "Get a business-hour calendar",
		Description: "One calendar with its time zone, working hours and holidays. Needs tickets.read."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *idIn) (*calendarOut, error) {
			c, err := m.GetCalendar(ctx, tn.ID, in.ID)
			if err != nil {
				return nil, err
			}
			return &calendarOut{Body: c}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "create-sla-calendar", Method: http.MethodPost, Path: "/sla-calendars", DefaultStatus: 201, Summary: "Create a business-hour calendar",
		Description: "A time zone (IANA), working hours per weekday (spans of one day must not overlap) and holidays (local dates). A team's calendar serves its tickets; the default one serves the rest. Policies with business_hours count only these hours. Needs tickets.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "Another calendar has this name, is the team's, or is the default."}),
	},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct{ Body CalendarInput }) (*calendarOut, error) {
			c, err := m.SaveCalendar(ctx, tn.ID, nil, in.Body)
			if err != nil {
				return nil, err
			}
			return &calendarOut{Body: c}, nil
		}))
	type replaceIn struct {
		ID   uuid.UUID `path:"id" doc:"the calendar id"`
		Body CalendarInput
	}
	huma.Register(api, huma.Operation{OperationID: "replace-sla-calendar", Method: http.MethodPut, Path: "/sla-calendars/{id}", Summary: "Replace a business-hour calendar",
		Description: "Replaces the time zone, hours and holidays; tickets keep the due times they have until their SLA is applied again. Needs tickets.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "Another calendar has this name, is the team's, or is the default."}),
	},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *replaceIn) (*calendarOut, error) {
			c, err := m.SaveCalendar(ctx, tn.ID, &in.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return &calendarOut{Body: c}, nil
		}))
	huma.Register(api, huma.Operation{OperationID: "delete-sla-calendar", Method: http.MethodDelete, Path: "/sla-calendars/{id}", DefaultStatus: 204, Summary: "Delete a business-hour calendar",
		Description: "Tickets keep the due times they have. Needs tickets.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *idIn) (*struct{}, error) {
			return nil, m.DeleteCalendar(ctx, tn.ID, in.ID)
		}))
}

// policyRoutes registers the SLA policy operations.
func (m *Module) policyRoutes(api huma.API) {
	type policiesOut struct {
		Body struct {
			Items []Policy `json:"items"`
		} `nameHint:"SLAPolicyList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-sla-policies", Method: http.MethodGet, Path: "/sla-policies", Summary: "List SLA policies",
		Description: "The company's SLA policies in the order they are tried: a new or changed ticket gets the first active one whose conditions all hold. Needs tickets.read."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, _ *struct{}) (*policiesOut, error) {
			items, err := m.ListPolicies(ctx, tn.ID)
			if err != nil {
				return nil, err
			}
			out := &policiesOut{}
			out.Body.Items = items
			return out, nil
		}))
	type policyOut struct{ Body *Policy }
	huma.Register(api, huma.Operation{OperationID: "create-sla-policy", Method: http.MethodPost, Path: "/sla-policies", DefaultStatus: 201, Summary: "Create an SLA policy",
		Description: "Targets in minutes, around the clock or in business hours (business_hours: the ticket's team's calendar, else the default calendar), for the tickets whose priority, type, channel and tags match (an empty condition matches any). The clock stands still while a ticket is pending, on hold or solved. Needs tickets.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "Another SLA policy has this name."}),
	},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct{ Body PolicyInput }) (*policyOut, error) {
			p, err := m.SavePolicy(ctx, tn.ID, nil, in.Body)
			if err != nil {
				return nil, err
			}
			return &policyOut{Body: p}, nil
		}))
	type replaceIn struct {
		ID   uuid.UUID `path:"id" doc:"the policy id"`
		Body PolicyInput
	}
	huma.Register(api, huma.Operation{OperationID: "replace-sla-policy", Method: http.MethodPut, Path: "/sla-policies/{id}", Summary: "Replace an SLA policy",
		Description: "Replaces a policy's conditions and targets, or switches it off (active false); tickets keep the due times they have until they change. Needs tickets.manage.",
		Responses:   httpx.Refusals(map[int]string{409: "Another SLA policy has this name."}),
	},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *replaceIn) (*policyOut, error) {
			p, err := m.SavePolicy(ctx, tn.ID, &in.ID, in.Body)
			if err != nil {
				return nil, err
			}
			return &policyOut{Body: p}, nil
		}))
}

// agentRoutes registers the operations on a team's availability for tickets.
func (m *Module) agentRoutes(api huma.API) {
	type agentsOut struct {
		Body struct {
			Items []Agent `json:"items"`
		} `nameHint:"TicketAgentList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-ticket-agents", Method: http.MethodGet, Path: "/ticket-teams/{id}/agents", Summary: "List a team's agents",
		Description: "The members of a team with whether they take its new tickets in turn, their cap of open tickets and how many they hold now. Needs tickets.read."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *struct {
			ID uuid.UUID `path:"id" doc:"the team id"`
		}) (*agentsOut, error) {
			items, err := m.ListAgents(ctx, tn.ID, in.ID)
			if err != nil {
				return nil, err
			}
			out := &agentsOut{}
			out.Body.Items = items
			return out, nil
		}))
	type setIn struct {
		ID     uuid.UUID `path:"id" doc:"the team id"`
		Member uuid.UUID `path:"member_id" doc:"a member of the team"`
		Body   AgentInput
	}
	type agentOut struct{ Body *Agent }
	huma.Register(api, huma.Operation{OperationID: "set-ticket-agent", Method: http.MethodPut, Path: "/ticket-teams/{id}/agents/{member_id}", Summary: "Set a member's availability for a team's tickets",
		Description: "An available member takes the team's new tickets in turn (a ticket created with team_id and no assignee_id), unless they hold max_open open tickets already. Needs tickets.manage."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *setIn) (*agentOut, error) {
			a, err := m.SetAgent(ctx, tn.ID, in.ID, in.Member, in.Body)
			if err != nil {
				return nil, err
			}
			return &agentOut{Body: a}, nil
		}))
}

// applyView narrows f by a saved view of tickets: both filters hold, and the
// view's sort applies unless the request gave one.
func (m *Module) applyView(ctx context.Context, tenant, id uuid.UUID, f *Filter) error {
	if m.d.Views == nil {
		return errs.Field("query.view_id", "saved views are not available")
	}
	v, err := m.d.Views.Get(ctx, tenant, EntityTickets, id)
	if errs.Is(err, errs.NotFound) {
		return errs.E(errs.NotFound, "saved view not found").WithFields(errs.FieldError{Location: "query.view_id", Message: "no such view of tickets visible to you"})
	}
	if err != nil {
		return err
	}
	vf, err := filterFromQuery(v.Query, "query.view_id")
	if err != nil {
		return err
	}
	f.Status = both(f.Status, vf.Status)
	f.Priority = both(f.Priority, vf.Priority)
	f.Type = both(f.Type, vf.Type)
	f.Channel = both(f.Channel, vf.Channel)
	if f.Assignee == "" {
		f.Assignee = vf.Assignee
	}
	if f.Team == "" {
		f.Team = vf.Team
	}
	if f.Requester == nil {
		f.Requester = vf.Requester
	}
	f.Tags = splitList(append(f.Tags, vf.Tags...))
	f.Fields = append(f.Fields, vf.Fields...)
	if f.Sort == "" {
		f.Sort = v.Sort
	}
	return nil
}

// both narrows one list of allowed values by another; empty means any.
func both(a, b []string) []string {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	var out []string
	for _, x := range a {
		if oneOf(x, b) {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return []string{"-none-"} // nothing matches both
	}
	return out
}

// formWithFiles is the hosted form as a multipart form with files.
type formWithFiles struct {
	Name    string          `required:"false" form:"name" maxLength:"300"`
	Email   string          `required:"false" form:"email" maxLength:"254"`
	Phone   string          `required:"false" form:"phone" maxLength:"40"`
	Type    string          `required:"false" form:"type" doc:"feedback, complaint, request or question; default request"`
	Subject string          `required:"false" form:"subject" maxLength:"300"`
	Message string          `required:"false" form:"message" maxLength:"20000"`
	Website string          `required:"false" form:"website" maxLength:"300" doc:"leave empty"`
	Files   []huma.FormFile `form:"files" required:"false" doc:"the attached files"`
}

// messageWithFiles is a reply or note as a multipart form with files.
type messageWithFiles struct {
	Kind   string          `required:"false" form:"kind" doc:"reply: public, emailed to the requester; note: internal"`
	Text   string          `required:"false" form:"body" maxLength:"50000" doc:"the message"`
	Status string          `required:"false" form:"status" doc:"open, pending, on_hold or solved: the ticket's status after this message"`
	Files  []huma.FormFile `form:"files" required:"false" doc:"the attached files"`
}

// uploads turns a form's files into the module's uploads, located as
// body.files[i].
func uploads(files []huma.FormFile) []Upload {
	out := make([]Upload, 0, len(files))
	for i, f := range files {
		if !f.IsSet || f.File == nil {
			continue
		}
		out = append(out, Upload{Name: f.Filename, Size: f.Size, Body: f.File, Location: fmt.Sprintf("body.files[%d]", i)})
	}
	return out
}

// attachmentRoutes registers the operations on a ticket's files.
func (m *Module) attachmentRoutes(api huma.API) {
	type addIn struct {
		ID      uuid.UUID `path:"id"`
		RawBody huma.MultipartFormFiles[messageWithFiles]
	}
	type addOut struct {
		Body struct {
			Message *Message `json:"message"`
			Ticket  *Ticket  `json:"ticket"`
		} `nameHint:"TicketMessageAddedWithFiles"`
	}
	huma.Register(api, huma.Operation{OperationID: "add-ticket-message-with-files", Method: http.MethodPost, Path: "/tickets/{id}/messages/with-files", DefaultStatus: 201,
		Summary: "Reply to a ticket or add a note, with files",
		Description: fmt.Sprintf("The same as POST .../messages, as a multipart form (kind, body, status) with up to %d files (field files, at most %d MB each: %s). "+
			"Files are checked before anything is written; a refused file refuses the whole message. Needs tickets.write.", MaxMessageFiles, MaxAttachmentBytes>>20, allowedList),
		MaxBodyBytes: MaxMessageFiles*MaxAttachmentBytes + 1<<20,
		Responses:    httpx.Refusals(map[int]string{409: "The ticket is closed.", 413: "A file is over the size limit.", 415: "A file is not of a kind tickets take."}),
	},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *addIn) (*addOut, error) {
			d := in.RawBody.Data()
			msg, t, err := m.AddMessageWithFiles(ctx, tn.ID, in.ID, MessageInput{Kind: d.Kind, Body: d.Text, Status: d.Status}, uploads(d.Files))
			if err != nil {
				return nil, err
			}
			out := &addOut{}
			out.Body.Message, out.Body.Ticket = msg, t
			return out, nil
		}))
	type listOut struct {
		Body struct {
			Items []Attachment `json:"items"`
		} `nameHint:"TicketAttachmentList"`
	}
	huma.Register(api, huma.Operation{OperationID: "list-ticket-attachments", Method: http.MethodGet, Path: "/tickets/{id}/attachments", Summary: "List a ticket's files",
		Description: "Every file of the ticket, oldest first: those of its replies and notes (message_id) and those the hosted form sent with it. Needs tickets.read."},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *ticketIDIn) (*listOut, error) {
			out := &listOut{}
			var err error
			out.Body.Items, err = m.ListAttachments(ctx, tn.ID, in.ID)
			return out, err
		}))
	type getIn struct {
		ID   uuid.UUID `path:"id" doc:"the ticket id"`
		File uuid.UUID `path:"attachment_id" doc:"the attachment id"`
	}
	type getOut struct {
		ContentType        string `header:"Content-Type"`
		ContentDisposition string `header:"Content-Disposition"`
		NoSniff            string `header:"X-Content-Type-Options"`
		CacheControl       string `header:"Cache-Control"`
		Body               []byte
	}
	huma.Register(api, huma.Operation{OperationID: "download-ticket-attachment", Method: http.MethodGet, Path: "/tickets/{id}/attachments/{attachment_id}", Summary: "Download a ticket's file",
		Description: "The file as it was sent, always as a download (never shown inline). A file of a ticket outside your scope answers 404. Needs tickets.read.",
		Responses:   httpx.Refusals(map[int]string{410: "The file is no longer kept."}),
	},
		httpx.InTenant(func(ctx context.Context, tn tenancy.Tenant, in *getIn) (*getOut, error) {
			f, err := m.OpenAttachment(ctx, tn.ID, in.ID, in.File)
			if err != nil {
				return nil, err
			}
			defer f.Body.Close()
			b, err := io.ReadAll(io.LimitReader(f.Body, MaxAttachmentBytes+1))
			if err != nil {
				return nil, errs.InternalErr(err)
			}
			disp := mime.FormatMediaType("attachment", map[string]string{"filename": f.Filename})
			if disp == "" {
				disp = "attachment"
			}
			return &getOut{ContentType: f.ContentType, ContentDisposition: disp,
				NoSniff: "nosniff", CacheControl: "private, no-store", Body: b}, nil
		}))
}
