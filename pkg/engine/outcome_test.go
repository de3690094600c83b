package engine

import (
	"testing"

	"github.com/portcullis-dev/portcullis/pkg/gatewayresponse"
)

// Every outcome has a name, a status and a row of the answers table, and a denial's rendered
// status is the outcome's: a new outcome cannot be added without all three.
func TestEveryOutcomeHasANameAStatusAndADenialRow(t *testing.T) {
	names := map[string]Outcome{}
	for _, o := range Outcomes() {
		name := o.String()
		if name == "" || name == "unknown" {
			t.Errorf("outcome %d has no name", o)
		}
		if other, ok := names[name]; ok {
			t.Errorf("outcomes %d and %d share the name %q", other, o, name)
		}
		names[name] = o
		status := o.HTTPStatus()
		if status < 200 || status > 599 || (o == Allow) != (status == 200) {
			t.Errorf("outcome %s has status %d", o, status)
		}
		if o == Allow {
			continue
		}
		if o != AuthorizerFailure && o.Reason() == gatewayresponse.AuthorizerFailure {
			t.Errorf("outcome %s has no row of its own in the answers table", o)
		}
		d := &Decision{Outcome: o}
		r := d.Denial(nil)
		if r.Status != status || r.Body == "" || r.ContentType == "" {
			t.Errorf("outcome %s is answered %d %q (%s), want status %d and a body", o, r.Status, r.Body, r.ContentType, status)
		}
	}
	if len(names) != int(numOutcomes) {
		t.Errorf("%d names for %d outcomes", len(names), numOutcomes)
	}
}
