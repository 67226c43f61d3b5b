package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
)

// TestBundle: a referral lists the caller's referrals of other reports
// whose files are the same known item, and nothing of another agency's.
func TestBundle(t *testing.T) {
	withLists := func(h *api.Handler) { h.HashLists = h.Store.(guardian.HashListStore) }
	forEachBackend(t, func(t *testing.T, f *fixture) {
		inv := f.addUser("inv@de.example.org", deOrg, guardian.RoleAgencyInvestigator)
		hl := f.store
		item := strings.Repeat("ab", 16) // an MD5 in a list
		known := func(countries ...string) (int64, []*guardian.Referral) {
			reportID, refs := f.report(countries, testFile{name: "forwarded.jpg", content: []byte("the same bytes"), viewed: yes()})
			files, err := f.store.FindFiles(f.ctx, reportID)
			if err != nil || len(files) != 1 {
				t.Fatalf("files of report %d: %v, %v", reportID, files, err)
			}
			m := guardian.KnownMatch{FileID: files[0].ID, List: "example-list", ListVersion: "1", Type: guardian.HashMD5, Hash: item, Category: "known"}
			if err := hl.SetReportHashMatches(f.ctx, reportID, []guardian.KnownMatch{m}); err != nil {
				t.Fatal(err)
			}
			return reportID, refs
		}
		_, first := known("DE")
		_, second := known("DE")
		_, other := known("NL")
		_, unrelated := f.report([]string{"DE"})

		var d struct {
			Bundle []struct{ ReferralID, ReportID int64 }
		}
		c := f.signIn(inv)
		c.do("GET", "/referrals/"+id(f.referralTo(second, "de-bka-cac").ID), nil).want(t, http.StatusOK).decode(t, &d)
		var got []int64
		for _, b := range d.Bundle {
			got = append(got, b.ReferralID)
		}
		want := []int64{f.referralTo(first, "de-bka-cac").ID}
		if !slices.Equal(got, want) {
			t.Errorf("bundle %v, want %v (the other German report only; not %d of the Dutch agency)", got, want, f.referralTo(other, "nl-police-avc").ID)
		}
		d.Bundle = nil
		c.do("GET", "/referrals/"+id(f.referralTo(unrelated, "de-bka-cac").ID), nil).want(t, http.StatusOK).decode(t, &d)
		if len(d.Bundle) != 0 {
			t.Errorf("a report with no known file has a bundle: %v", d.Bundle)
		}
	}, withLists)
}
