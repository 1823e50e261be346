package tickets

import (
	"net/url"

	"github.com/clientele-crm/clientele/platform/fields"
)

// SetPlan sets the limits and trace of the module's list plans, for tests.
func SetPlan(m *Module, lim fields.Limits, trace func(fields.Step)) {
	m.planLimits, m.planTrace = lim, trace
}

// FilterFrom reads a ticket list filter from a query string, for tests.
func FilterFrom(q url.Values) (Filter, error) { return filterFromValues(q, "query") }
