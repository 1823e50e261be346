package profiles_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/clientele-crm/clientele/modules/profiles"
	"github.com/clientele-crm/clientele/platform/errs"
	"github.com/clientele-crm/clientele/platform/testkit"
)

func TestMassEditIsAllOrNothingAndScoped(t *testing.T) {
	m, got := setup(t)
	env := testkit.Get(t)
	a, b := env.NewTenant(t), env.NewTenant(t)
	var ids []uuid.UUID
	for i, name := range []string{"王芳", "Ada", "Grace"} {
		c, err := m.CreateCustomer(writer, a.ID, profiles.CustomerInput{Name: name, Tags: []string{"old", "keep"}, Lifecycle: []string{"lead", "prospect", "lead"}[i]}, false)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	other, err := m.CreateCustomer(writer, b.ID, profiles.CustomerInput{Name: "B's", Tags: []string{"old"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	*got = nil
	res, err := m.MassEditCustomers(writer, a.ID, profiles.MassEdit{IDs: append(ids, other.ID), AddTags: []string{"VIP"}, RemoveTags: []string{"OLD"}, Lifecycle: "customer"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Updated != 3 || len(res.NotFound) != 1 || res.NotFound[0] != other.ID {
		t.Fatalf("result %+v", res)
	}
	if len(*got) != 3 {
		t.Fatalf("%d events, want 3", len(*got))
	}
	list, _, err := m.ListCustomers(writer, a.ID, profiles.Filter{Tags: []string{"vip"}, Lifecycle: []string{"customer"}})
	if err != nil || len(list) != 3 {
		t.Fatalf("tagged list: %d, %v", len(list), err)
	}
	for _, c := range list {
		if len(c.Tags) != 2 || c.Tags[0] != "keep" || c.Tags[1] != "VIP" {
			t.Errorf("%s tags %v", c.Name, c.Tags)
		}
	}
	if old, _, _ := m.ListCustomers(writer, a.ID, profiles.Filter{Tags: []string{"old"}}); len(old) != 0 {
		t.Errorf("%d customers still tagged old", len(old))
	}
	// Tenant B's customer was not touched.
	if c, err := m.GetCustomer(writer, b.ID, other.ID); err != nil || len(c.Tags) != 1 || c.Tags[0] != "old" {
		t.Fatalf("other tenant's customer: %+v %v", c, err)
	}
	// A second identical call changes nothing.
	res, err = m.MassEditCustomers(writer, a.ID, profiles.MassEdit{IDs: ids, AddTags: []string{"vip"}})
	if err != nil || res.Updated != 0 || res.Unchanged != 3 {
		t.Fatalf("repeat: %+v %v", res, err)
	}
	// A bad tag refuses the whole call, naming the field.
	_, err = m.MassEditCustomers(writer, a.ID, profiles.MassEdit{IDs: ids, AddTags: []string{"ok", " "}})
	var e *errs.Error
	if !asErr(err, &e) || e.Status != 422 || e.Errors[0].Location != "body.add_tags[1]" {
		t.Fatalf("bad tag: %v", err)
	}
	if _, err := m.MassEditCustomers(writer, a.ID, profiles.MassEdit{IDs: ids}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("empty edit: %v", err)
	}
	if _, err := m.MassEditCustomers(actor(profiles.PermRead), a.ID, profiles.MassEdit{IDs: ids, AddTags: []string{"x"}}); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("viewer: %v", err)
	}

	st, err := m.CustomerStats(writer, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != 3 || len(st.ByLifecycle) != 1 || st.ByLifecycle[0].Lifecycle != "customer" || st.ByLifecycle[0].Count != 3 {
		t.Fatalf("stats %+v", st)
	}
	var week int64
	for _, w := range st.CreatedByWeek {
		week += w.Count
	}
	if len(st.CreatedByWeek) != 12 || week != 3 {
		t.Fatalf("weeks %+v", st.CreatedByWeek)
	}
	if sb, err := m.CustomerStats(writer, b.ID); err != nil || sb.Total != 1 {
		t.Fatalf("tenant B stats %+v %v", sb, err)
	}
}
