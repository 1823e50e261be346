package records

import (
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// SignalKind names what a Signal's rows say about a customer.
type SignalKind string

// The kinds of customer signals the scores read.
const (
	// SignalSale is money a customer paid: a won deal. Its amount and
	// currency count towards RFM's frequency and monetary value.
	SignalSale SignalKind = "sale"
	// SignalActivity is something that happened with the customer (a deal
	// moved, a ticket opened): it breaks the silence on the timeline.
	SignalActivity SignalKind = "activity"
	// SignalOpenComplaint is a complaint of the customer still open.
	SignalOpenComplaint SignalKind = "open_complaint"
	// SignalSLABreach is a service target missed for the customer.
	SignalSLABreach SignalKind = "sla_breach"
)

// Signal is a set of facts about customers that a module other than the
// customers' owner keeps (the funnel's won deals, the service desk's
// complaints). Query selects exactly the columns customer_id (uuid), at
// (timestamptz), amount (numeric, NULL when none) and currency (text, NULL
// when none), over the company tenant, as of asOf, without row scope: the
// scores are the company's, and lists apply the reader's scope to customers.
// The query is set-based SQL that the scoring job composes into one
// statement, so a million customers cost one pass, not a million calls.
type Signal struct {
	Kind  SignalKind
	Query func(tx bun.IDB, tenant uuid.UUID, asOf time.Time) *bun.SelectQuery
}

// Signaller is the module capability that offers customer signals.
type Signaller interface{ CustomerSignals() []Signal }

// AddSignals registers signals of a module.
func (r *Registry) AddSignals(s ...Signal) {
	r.mu.Lock()
	r.signals = append(r.signals, s...)
	r.mu.Unlock()
}

// Signals returns the registered signals of kind k.
func (r *Registry) Signals(k SignalKind) []Signal {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []Signal
	for _, s := range r.signals {
		if s.Kind == k {
			out = append(out, s)
		}
	}
	return out
}
