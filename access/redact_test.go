package access_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
)

// fullDocument is a report with every top-level element present, each
// carrying a marker string that tells which section it belongs to.
func fullDocument() *guardian.ReportDocument {
	return &guardian.ReportDocument{
		BatchedReport:   &guardian.BatchedReport{Reason: "VIRAL_POTENTIAL_MEME"},
		IncidentSummary: guardian.IncidentSummary{IncidentType: "Child Pornography (possession, manufacture, and distribution)", Platform: "ALWAYS-platform"},
		InternetDetails: []guardian.InternetDetails{{WebPageIncident: &guardian.WebPageIncident{URL: []string{"https://ALWAYS.example.org/x"}}}},
		LawEnforcement:  &guardian.LawEnforcement{AgencyName: "HUBONLY-agency", CaseNumber: "HUBONLY-case"},
		Reporter: guardian.ReporterDetails{
			ReportingPerson: guardian.Person{FirstName: "CONTACTS-first", Email: []guardian.Email{{Value: "CONTACTS@example.com"}}},
			ContactPerson:   &guardian.ContactPerson{LastName: "CONTACTS-last"},
		},
		PersonOrUserReported: []guardian.PersonOrUserReported{{ScreenName: "SUSPECT-screen", IPCaptureEvent: []guardian.IPCaptureEvent{{IPAddress: "192.0.2.1"}}}},
		IntendedRecipient:    []guardian.IntendedRecipient{{ScreenName: "VICTIM-recipient"}},
		Victim:               []guardian.Victim{{VictimPerson: guardian.Person{FirstName: "VICTIM-first"}, SchoolName: "VICTIM-school"}},
		AdditionalInfo:       "HUBONLY-free text naming VICTIM and SUSPECT",
	}
}

// markers returns which section markers appear in the document's JSON, the
// form in which it leaves the server.
func markers(t *testing.T, d *guardian.ReportDocument) []string {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range []string{"ALWAYS", "CONTACTS", "SUSPECT", "VICTIM", "HUBONLY", "VIRAL_POTENTIAL_MEME"} {
		if strings.Contains(string(b), m) {
			got = append(got, m)
		}
	}
	return got
}

func TestRedactDocument(t *testing.T) {
	always := []string{"ALWAYS", "VIRAL_POTENTIAL_MEME"}
	tests := []struct {
		name  string
		scope guardian.DataScope
		want  []string
	}{
		{"no section", 0, always},
		{"reporter-contacts", guardian.ScopeReporterContacts, []string{"ALWAYS", "CONTACTS", "VIRAL_POTENTIAL_MEME"}},
		{"suspect-details", guardian.ScopeSuspectDetails, []string{"ALWAYS", "SUSPECT", "VIRAL_POTENTIAL_MEME"}},
		{"victim-details", guardian.ScopeVictimDetails, []string{"ALWAYS", "VICTIM", "VIRAL_POTENTIAL_MEME"}},
		{"files", guardian.ScopeFiles, always},
		{"file-content", guardian.ScopeFiles | guardian.ScopeFileContent, always},
		{"every section", fullScope, []string{"ALWAYS", "CONTACTS", "SUSPECT", "VICTIM", "VIRAL_POTENTIAL_MEME"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := fullDocument()
			got := access.RedactDocument(doc, tt.scope)
			if diff := cmp.Diff(tt.want, markers(t, got)); diff != "" {
				t.Errorf("sections out (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(fullDocument(), doc); diff != "" {
				t.Errorf("the original changed (-want +got):\n%s", diff)
			}
		})
	}
	if access.RedactDocument(nil, fullScope) != nil {
		t.Error("RedactDocument(nil) is not nil")
	}
}

// TestRedactDocumentSections checks each section's fields exactly, not only
// through markers.
func TestRedactDocumentSections(t *testing.T) {
	doc := fullDocument()
	got := access.RedactDocument(doc, guardian.ScopeVictimDetails)
	want := &guardian.ReportDocument{
		BatchedReport:     doc.BatchedReport,
		IncidentSummary:   doc.IncidentSummary,
		InternetDetails:   doc.InternetDetails,
		IntendedRecipient: doc.IntendedRecipient,
		Victim:            doc.Victim,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("victim-details (-want +got):\n%s", diff)
	}
	got = access.RedactDocument(doc, guardian.ScopeReporterContacts|guardian.ScopeSuspectDetails)
	want = &guardian.ReportDocument{
		BatchedReport:        doc.BatchedReport,
		IncidentSummary:      doc.IncidentSummary,
		InternetDetails:      doc.InternetDetails,
		Reporter:             doc.Reporter,
		PersonOrUserReported: doc.PersonOrUserReported,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reporter-contacts,suspect-details (-want +got):\n%s", diff)
	}
}

// TestRedactDocumentKnowsEveryField fails when ReportDocument gains a field:
// decide which section it belongs to, in RedactDocument and here.
func TestRedactDocumentKnowsEveryField(t *testing.T) {
	classified := map[string]string{
		"XMLName":              "always",
		"BatchedReport":        "always",
		"IncidentSummary":      "always",
		"InternetDetails":      "always",
		"Reporter":             "reporter-contacts",
		"PersonOrUserReported": "suspect-details",
		"IntendedRecipient":    "victim-details",
		"Victim":               "victim-details",
		"LawEnforcement":       "hub only",
		"AdditionalInfo":       "hub only",
	}
	typ := reflect.TypeFor[guardian.ReportDocument]()
	for i := range typ.NumField() {
		if _, found := classified[typ.Field(i).Name]; !found {
			t.Errorf("ReportDocument.%s belongs to no section of RedactDocument", typ.Field(i).Name)
		}
	}
	if typ.NumField() != len(classified) {
		t.Errorf("ReportDocument has %d fields; %d are classified", typ.NumField(), len(classified))
	}
}

func TestGrantRedact(t *testing.T) {
	// An agency with every section still does not get what belongs to none;
	// the hub gets the whole document.
	py := MustUserCaller(t, agencyUser(10, partnerPY, guardian.RoleAgencyInvestigator))
	hub := MustUserCaller(t, hubUser(2, guardian.RoleHubAnalyst))
	r := referral(partnerPY, "PY")
	req := access.Request{Action: access.OpenContent, Referral: r, Consulted: true}
	g, err := py.Authorize(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := markers(t, g.Redact(fullDocument())); strings.Contains(strings.Join(got, ","), "HUBONLY") {
		t.Errorf("an agency with every section got %v", got)
	}
	g, err = hub.Authorize(req)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fullDocument(), g.Redact(fullDocument())); diff != "" {
		t.Errorf("the hub's document differs (-want +got):\n%s", diff)
	}
	if (access.Grant{}).Redact(nil) != nil || (access.Grant{Hub: true}).Redact(nil) != nil {
		t.Error("Redact(nil) is not nil")
	}
}

func TestRedactFiles(t *testing.T) {
	files := []*guardian.File{
		{ID: "00112233445566778899aabbccddeeff", Name: "a.jpg", Size: 10, SHA256: "ab", BlobKey: "seg/1", WrappedKey: []byte{1}},
		{ID: "ffeeddccbbaa99887766554433221100", Name: "b.mp4", Size: 20, SHA256: "cd", BlobKey: "seg/2", WrappedKey: []byte{2}},
	}
	for _, scope := range []guardian.DataScope{0, guardian.ScopeSuspectDetails | guardian.ScopeVictimDetails | guardian.ScopeReporterContacts} {
		if got := access.RedactFiles(files, scope); got != nil {
			t.Errorf("scope %q lists files: %v", scope, got)
		}
	}
	for _, scope := range []guardian.DataScope{guardian.ScopeFiles, fullScope} {
		got := access.RedactFiles(files, scope)
		if len(got) != 2 {
			t.Fatalf("scope %q: %d files", scope, len(got))
		}
		for i, f := range got {
			if f.BlobKey != "" || f.WrappedKey != nil {
				t.Errorf("scope %q: file %d keeps its blob key or wrapped key", scope, i)
			}
			if f.ID != files[i].ID || f.Name != files[i].Name || f.SHA256 != files[i].SHA256 {
				t.Errorf("scope %q: file %d is %+v", scope, i, f)
			}
		}
		if files[0].BlobKey != "seg/1" || files[0].WrappedKey == nil {
			t.Error("RedactFiles changed the originals")
		}
	}
	g := access.Grant{Scope: guardian.ScopeFiles}
	if len(g.Files(files)) != 2 || (access.Grant{}).Files(files) != nil {
		t.Error("Grant.Files does not follow its scope")
	}
}
