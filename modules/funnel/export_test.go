package funnel

import (
	"net/url"

	"github.com/clientele-crm/clientele/platform/fields"
)

// SetPlan sets the limits and trace of the module's list plans, for tests.
func SetPlan(m *Module, lim fields.Limits, trace func(fields.Step)) {
	m.planLimits, m.planTrace = lim, trace
}

// FilterFrom reads a deal list filter from a query string, for tests.
func FilterFrom(q url.Values) (Filter, error) { return filterFromQuery(q, "query") }

// LessPos orders two positions as the board does, for tests.
func LessPos(a, b string) bool { return rat(a).Cmp(rat(b)) < 0 }
