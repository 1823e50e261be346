package module

import (
	"strings"
	"testing"
)

type named struct {
	name string
	es   []Entity
}

func (n named) Name() string       { return n.name }
func (n named) Entities() []Entity { return n.es }

type plain struct{}

func (plain) Name() string { return "plain" }

// The entities are gathered from the modules that declare some, in module
// order; a name declared twice, or not a plain name, stops the wiring.
func TestSetGathersEntities(t *testing.T) {
	s := Set{named{"profiles", []Entity{{Name: "customers"}, {Name: "contacts", Table: "customer_contacts"}}}, plain{}, named{"funnel", []Entity{{Name: "deals"}}}}
	es, err := s.Entities()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name+":"+e.TableName())
	}
	if got := strings.Join(names, ","); got != "customers:customers,contacts:customer_contacts,deals:deals" {
		t.Fatalf("entities %s", got)
	}
	if _, err := append(s, named{"tickets", []Entity{{Name: "deals"}}}).Entities(); err == nil || !strings.Contains(err.Error(), `"deals" declared by both funnel and tickets`) {
		t.Fatalf("a name declared twice: %v", err)
	}
	if _, err := (Set{named{"bi", []Entity{{Name: "Bad-Name"}}}}).Entities(); err == nil {
		t.Fatal("a malformed name passed")
	}
}
