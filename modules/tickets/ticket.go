package tickets

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/clientele-crm/clientele/platform/errs"
)

// The values of a ticket's enumerated fields, in the order they are listed.
var (
	channels   = []string{"email", "phone", "web_form", "chat", "social"}
	types      = []string{"question", "incident", "complaint", "feedback", "request"}
	priorities = []string{"low", "normal", "high", "urgent"}
	statuses   = []string{"new", "open", "pending", "on_hold", "solved", "closed"}
)

// nextStatuses are the status changes a ticket may make. A ticket never goes
// back to new; only a solved ticket is closed, and a closed one is final (a
// new request about it is a new ticket).
var nextStatuses = map[string][]string{
	"new":     {"open", "pending", "on_hold", "solved"},
	"open":    {"pending", "on_hold", "solved"},
	"pending": {"open", "on_hold", "solved"},
	"on_hold": {"open", "pending", "solved"},
	"solved":  {"open", "closed"},
	"closed":  {},
}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}

// listed writes a set as "a, b or c" for messages.
func listed(set []string) string {
	if len(set) == 0 {
		return "nothing"
	}
	if len(set) == 1 {
		return set[0]
	}
	return strings.Join(set[:len(set)-1], ", ") + " or " + set[len(set)-1]
}

// checkTransition refuses a status change the rules do not allow, naming loc.
func checkTransition(from, to, loc string) error {
	if !oneOf(to, statuses) {
		return errs.Field(loc, "must be "+listed(statuses))
	}
	if from == to {
		return errs.E(errs.Conflict, "The ticket is %s already.", to).WithFields(errs.FieldError{Location: loc, Message: "the ticket has this status already", Value: to})
	}
	if !oneOf(to, nextStatuses[from]) {
		if from == "closed" {
			return errs.E(errs.Conflict, "A closed ticket is final; open a new ticket for a new request.").
				WithFields(errs.FieldError{Location: loc, Message: "a closed ticket is final", Value: to})
		}
		return errs.E(errs.Invalid, "A %s ticket cannot become %s; from %s it goes to %s.", from, to, from, listed(nextStatuses[from])).
			WithFields(errs.FieldError{Location: loc, Message: fmt.Sprintf("from %s a ticket goes to %s", from, listed(nextStatuses[from])), Value: to})
	}
	return nil
}

// Ticket is one request, complaint or piece of feedback.
type Ticket struct {
	bun.BaseModel    `bun:"table:tickets,alias:t"`
	TenantID         uuid.UUID      `bun:"tenant_id,pk,type:uuid" json:"-"`
	ID               uuid.UUID      `bun:"id,pk,type:uuid" json:"id"`
	Number           int64          `bun:"number" json:"number" doc:"the company's ticket number, #1001 onwards"`
	Subject          string         `bun:"subject" json:"subject"`
	Description      string         `bun:"description" json:"description"`
	RequesterID      uuid.UUID      `bun:"requester_id,type:uuid" json:"requester_id" doc:"the customer who asked"`
	Channel          string         `bun:"channel" json:"channel" enum:"email,phone,web_form,chat,social"`
	Type             string         `bun:"type" json:"type" enum:"question,incident,complaint,feedback,request"`
	Priority         string         `bun:"priority" json:"priority" enum:"low,normal,high,urgent"`
	Status           string         `bun:"status" json:"status" enum:"new,open,pending,on_hold,solved,closed"`
	AssigneeID       *uuid.UUID     `bun:"assignee_id,type:uuid" json:"assignee_id,omitempty"`
	TeamID           *uuid.UUID     `bun:"team_id,type:uuid" json:"team_id,omitempty"`
	Tags             []string       `bun:"tags,array" json:"tags"`
	Custom           map[string]any `bun:"custom,type:jsonb" json:"custom"`
	Version          int            `bun:"version" json:"version" doc:"send it back with a change; a change to an older version is refused with 409"`
	MessageCount     int            `bun:"message_count" json:"message_count"`
	FirstRespondedAt *time.Time     `bun:"first_responded_at" json:"first_responded_at,omitempty"`
	SolvedAt         *time.Time     `bun:"solved_at" json:"solved_at,omitempty"`
	ClosedAt         *time.Time     `bun:"closed_at" json:"closed_at,omitempty"`
	// The SLA: the policy that applies, the warning and due times that
	// follow from it in business time, and how long the clock stood still
	// (pending, on hold, solved).
	SLAPolicyID              *uuid.UUID `bun:"sla_policy_id,type:uuid" json:"sla_policy_id,omitempty"`
	FirstResponseWarnAt      *time.Time `bun:"first_response_warn_at" json:"first_response_warn_at,omitempty" doc:"the assignee is warned then unless the first response came"`
	FirstResponseDueAt       *time.Time `bun:"first_response_due_at" json:"first_response_due_at,omitempty"`
	NextResponseStartedAt    *time.Time `bun:"next_response_started_at" json:"next_response_started_at,omitempty" doc:"the requester came back then and waits for an answer"`
	NextResponseWarnAt       *time.Time `bun:"next_response_warn_at" json:"next_response_warn_at,omitempty"`
	NextResponseDueAt        *time.Time `bun:"next_response_due_at" json:"next_response_due_at,omitempty" doc:"the next public reply is due then; none while nobody waits"`
	NextResponseCycle        int        `bun:"next_response_cycle" json:"next_response_cycle" doc:"how many times the requester came back after the first response"`
	ResolutionWarnAt         *time.Time `bun:"resolution_warn_at" json:"resolution_warn_at,omitempty"`
	ResolutionDueAt          *time.Time `bun:"resolution_due_at" json:"resolution_due_at,omitempty"`
	SLADueAt                 *time.Time `bun:"sla_due_at" json:"sla_due_at,omitempty" doc:"the earliest due time of the targets still running; none while the clock stands still or every target is met"`
	SLAPausedSeconds         int64      `bun:"sla_paused_seconds" json:"sla_paused_seconds" doc:"how long the SLA clock stood still so far, in seconds"`
	SLAPausedBusinessSeconds int64      `bun:"sla_paused_business_seconds" json:"sla_paused_business_seconds" doc:"the business time of that, in seconds"`
	SLAPausedAt              *time.Time `bun:"sla_paused_at" json:"sla_paused_at,omitempty" doc:"the SLA clock stands still since then"`
	CSATRating               *int       `bun:"csat_rating" json:"csat_rating,omitempty" doc:"the requester's rating, 1 to 5, through the survey link sent when it was solved"`
	CSATComment              *string    `bun:"csat_comment" json:"csat_comment,omitempty"`
	CSATRatedAt              *time.Time `bun:"csat_rated_at" json:"csat_rated_at,omitempty"`
	MergedIntoID             *uuid.UUID `bun:"merged_into_id,type:uuid" json:"merged_into_id,omitempty" doc:"the ticket this one was merged into (it is closed)"`
	CreatedBy                *uuid.UUID `bun:"created_by,type:uuid" json:"created_by,omitempty"`
	CreatedAt                time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt                time.Time  `bun:"updated_at" json:"updated_at"`
	// RequesterCreated says the requester's email or phone matched no customer
	// and a lead was made of it; only on the answer to a creation.
	RequesterCreated bool `bun:"-" json:"requester_created,omitempty"`
}

// TicketInput creates a ticket. The requester is a customer id, or an email
// or phone matched to a customer (or made into a lead).
type TicketInput struct {
	Subject        string         `json:"subject" minLength:"1" maxLength:"300"`
	Description    string         `json:"description,omitempty" maxLength:"20000"`
	RequesterID    *uuid.UUID     `json:"requester_id,omitempty" doc:"a customer of this company; or send requester_email or requester_phone"`
	RequesterEmail string         `json:"requester_email,omitempty" maxLength:"254" doc:"matched to a customer's email; a lead is created when none has it"`
	RequesterPhone string         `json:"requester_phone,omitempty" maxLength:"40" doc:"matched to a customer's phone; a lead is created when none has it"`
	RequesterName  string         `json:"requester_name,omitempty" maxLength:"300" doc:"the name of a lead created for the email or phone"`
	Channel        string         `json:"channel" enum:"email,phone,web_form,chat,social"`
	Type           string         `json:"type,omitempty" enum:"question,incident,complaint,feedback,request" default:"question"`
	Priority       string         `json:"priority,omitempty" enum:"low,normal,high,urgent" default:"normal"`
	AssigneeID     *uuid.UUID     `json:"assignee_id,omitempty" doc:"a member of this company; a ticket with an assignee starts open, else new"`
	TeamID         *uuid.UUID     `json:"team_id,omitempty" doc:"a team of this company; without assignee_id, the team's next available member in turn (round-robin, skipping those at their cap) gets the ticket"`
	Tags           []string       `json:"tags,omitempty" maxItems:"50"`
	Custom         map[string]any `json:"custom,omitempty"`
}

// TicketUpdate changes some fields of a ticket; absent fields stay as they
// are. The status changes through its own operation, which knows the rules.
type TicketUpdate struct {
	Version       int            `json:"version" minimum:"1" doc:"the version you read; 409 when the ticket changed since"`
	Subject       *string        `json:"subject,omitempty" minLength:"1" maxLength:"300"`
	Description   *string        `json:"description,omitempty" maxLength:"20000"`
	RequesterID   *uuid.UUID     `json:"requester_id,omitempty" doc:"another customer of this company"`
	Type          *string        `json:"type,omitempty" enum:"question,incident,complaint,feedback,request"`
	Priority      *string        `json:"priority,omitempty" enum:"low,normal,high,urgent"`
	AssigneeID    *uuid.UUID     `json:"assignee_id,omitempty" doc:"a member of this company"`
	ClearAssignee bool           `json:"clear_assignee,omitempty" doc:"unassign the ticket"`
	TeamID        *uuid.UUID     `json:"team_id,omitempty" doc:"a team of this company"`
	ClearTeam     bool           `json:"clear_team,omitempty" doc:"take the ticket off its team"`
	Tags          *[]string      `json:"tags,omitempty" maxItems:"50"`
	Custom        map[string]any `json:"custom,omitempty" doc:"only the given keys change; null clears one"`
}

// normalize validates the standard fields of t in place, collecting every
// problem so the client can fix them all at once.
func (t *Ticket) normalize() []errs.FieldError {
	var fe []errs.FieldError
	t.Subject = strings.TrimSpace(t.Subject)
	if t.Subject == "" || len([]rune(t.Subject)) > 300 {
		fe = append(fe, errs.FieldError{Location: "body.subject", Message: "is required, 1 to 300 characters"})
	} else if !errs.OneLine(t.Subject) {
		fe = append(fe, errs.FieldError{Location: "body.subject", Message: errs.OneLineMessage})
	}
	if len([]rune(t.Description)) > 20000 {
		fe = append(fe, errs.FieldError{Location: "body.description", Message: "is at most 20000 characters"})
	}
	if t.Type == "" {
		t.Type = "question"
	}
	if t.Priority == "" {
		t.Priority = "normal"
	}
	for _, c := range []struct {
		loc, v string
		set    []string
	}{{"body.channel", t.Channel, channels}, {"body.type", t.Type, types}, {"body.priority", t.Priority, priorities}} {
		if !oneOf(c.v, c.set) {
			fe = append(fe, errs.FieldError{Location: c.loc, Message: "must be " + listed(c.set), Value: c.v})
		}
	}
	tags := []string{}
	seen := map[string]bool{}
	for i, tag := range t.Tags {
		tag = strings.TrimSpace(tag)
		if tag == "" || len([]rune(tag)) > 50 {
			fe = append(fe, errs.FieldError{Location: fmt.Sprintf("body.tags[%d]", i), Message: "tags are 1 to 50 characters", Value: tag})
			continue
		}
		if !seen[strings.ToLower(tag)] {
			seen[strings.ToLower(tag)] = true
			tags = append(tags, tag)
		}
	}
	t.Tags = tags
	if t.Custom == nil {
		t.Custom = map[string]any{}
	}
	return fe
}

// invalid is the error of a ticket whose fields break the rules.
func invalid(fe []errs.FieldError) error {
	return errs.E(errs.Invalid, "The ticket could not be saved: %s %s.", fe[0].Location, fe[0].Message).WithFields(fe...)
}

// tagKeys are the rows a ticket's tags are filtered by: lower case, once each.
func tagKeys(tags []string) []string {
	out := make([]string, 0, len(tags))
	seen := map[string]bool{}
	for _, t := range tags {
		k := strings.ToLower(t)
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// Message is one entry of a ticket's conversation.
type Message struct {
	bun.BaseModel `bun:"table:ticket_messages,alias:m"`
	TenantID      uuid.UUID  `bun:"tenant_id,pk,type:uuid" json:"-"`
	ID            uuid.UUID  `bun:"id,pk,type:uuid" json:"id"`
	TicketID      uuid.UUID  `bun:"ticket_id,type:uuid" json:"ticket_id"`
	Seq           int        `bun:"seq" json:"seq" doc:"its place in the conversation, from 1"`
	Kind          string     `bun:"kind" json:"kind" enum:"reply,note" doc:"reply: public, emailed to the requester; note: internal, members only"`
	Body          string     `bun:"body" json:"body"`
	AuthorID      *uuid.UUID `bun:"author_id,type:uuid" json:"author_id,omitempty" doc:"the member who wrote it"`
	EmailState    *string    `bun:"email_state" json:"email_state,omitempty" enum:"pending,sent,no_address" doc:"a reply's email to the requester"`
	EmailedAt     *time.Time `bun:"emailed_at" json:"emailed_at,omitempty"`
	CreatedAt     time.Time  `bun:"created_at" json:"created_at"`
	// Attachments are the files sent with it.
	Attachments []Attachment `bun:"-" json:"attachments"`
}

// MessageInput adds a reply or a note, optionally changing the status with it.
type MessageInput struct {
	Kind   string `json:"kind" enum:"reply,note" doc:"reply: public, emailed to the requester; note: internal"`
	Body   string `json:"body" minLength:"1" maxLength:"50000"`
	Status string `json:"status,omitempty" enum:"open,pending,on_hold,solved," doc:"the ticket's status after this message; a reply to a new ticket opens it by default"`
}
