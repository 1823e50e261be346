package patch

import "testing"

func TestSetAppliesOnlyWhatWasSent(t *testing.T) {
	name, tags := "Ann", []string{"vip"}
	Set(&name, nil)
	Set(&tags, nil)
	if name != "Ann" || len(tags) != 1 {
		t.Fatalf("a field not sent changed the value: %q %v", name, tags)
	}
	newName, empty := "Bo", []string{}
	Set(&name, &newName)
	Set(&tags, &empty)
	if name != "Bo" || tags == nil || len(tags) != 0 {
		t.Fatalf("a sent field was not applied: %q %v", name, tags)
	}
	var zero string
	Set(&name, &zero)
	if name != "" {
		t.Fatalf("a sent empty value was not applied: %q", name)
	}
}
