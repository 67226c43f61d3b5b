package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/api"
	"github.com/guardian-network/guardian/storetest"
)

// TestPartnersGuide runs the sh blocks of docs/partners.md, in order, with
// curl and age against a hub, so that the walkthrough a partner follows
// stays true. The guide's sample values (the referral 4711, its file, the
// person's code, the CSRF token) are replaced with this hub's; every curl
// must succeed (--fail-with-body), and the referral ends as the guide says.
func TestPartnersGuide(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "age", "tar", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
	}
	guide, err := os.ReadFile(filepath.Join("..", "docs", "partners.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(guide), -1)
	if len(blocks) < 8 {
		t.Fatalf("%d sh blocks in the guide", len(blocks))
	}

	f := newFixture(t, storetest.SQLite)
	py, _ := f.net.Agency("py-fiscalia-cyber")
	py.Recipients = []string{f.ageKey.Recipient().String()}
	pyOrg := guardian.AgencyOrganisation("py-fiscalia-cyber")
	ana := f.addUser("ana@fiscalia.example.org", pyOrg, guardian.RoleAgencyInvestigator)
	secret, _ := f.addToken("py-case-system", pyOrg, guardian.RoleAgencySupervisor)
	_, refs := f.report([]string{"PY"},
		testFile{name: "photo.jpg", content: []byte("viewed"), viewed: yes()},
		testFile{name: "chat.txt", content: []byte("not viewed"), viewed: no()})
	ref := f.referralTo(refs, "py-fiscalia-cyber")
	_, other := f.report([]string{"PY"})
	declined := f.referralTo(other, "py-fiscalia-cyber")

	var files struct{ Files []fileInfo }
	f.signIn(ana).justified().do("GET", "/referrals/"+id(ref.ID)+"/files", nil).want(t, http.StatusOK).decode(t, &files)
	var page refPage
	f.tokenClient(secret).do("GET", "/referrals?limit=1", nil).want(t, http.StatusOK).decode(t, &page)
	f.clock.Advance(30e9) // a fresh TOTP step for the guide's sign-in

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "agency-key.txt"), []byte(f.ageKey.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	replacer := func(csrf string) *strings.Replacer {
		return strings.NewReplacer(
			"referrals/4711/decline", "referrals/"+id(declined.ID)+"/decline",
			"4711", id(ref.ID),
			"6f1c...e2", files.Files[1].ID,
			`"password":"..."`, `"password":"`+password+`"`,
			`"totp":"492039"`, `"totp":"`+ana.totp.Code(f.clock.Now())+`"`,
			`{"userId":7}`, `{"userId":`+id(ana.ID)+`}`,
			"eyJjIjp7...", page.NextCursor,
			"q1Vb...", csrf,
		)
	}
	define := regexp.MustCompile(`(?m)^export (HUB|TOKEN)=.*$`)
	csrf := ""
	for i, b := range blocks {
		script := define.ReplaceAllString(replacer(csrf).Replace(b[1]), "")
		cmd := exec.Command("bash", "-c", "set -euo pipefail\ncurl() { command curl --fail-with-body \"$@\"; }\n"+script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "HUB="+f.srv.URL+api.Prefix, "TOKEN="+secret)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("block %d failed: %v\n%s\noutput:\n%s", i+1, err, script, out)
		}
		if strings.Contains(script, "/session") {
			var s struct{ CSRFToken string }
			if err := json.Unmarshal(out, &s); err != nil || s.CSRFToken == "" {
				t.Fatalf("sign-in block: %v: %s", err, out)
			}
			csrf = s.CSRFToken
		}
	}

	got, err := f.store.FindReferral(f.ctx, ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != guardian.ReferralClosed || got.Outcome == nil || got.Outcome.Status != guardian.CaseArrest || got.Assignee != id(ana.ID) {
		t.Errorf("after the guide: %+v", got)
	}
	if d, _ := f.store.FindReferral(f.ctx, declined.ID); d.State != guardian.ReferralRerouted {
		t.Errorf("the declined referral is %s", d.State)
	}
	for _, name := range []string{"referral.json", "manifest.json", "evidence.bin"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("the guide did not leave %s: %v", name, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "evidence.bin")); string(b) != "not viewed" {
		t.Errorf("evidence.bin holds %q", b)
	}
}
