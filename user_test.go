package guardian_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/guardian-network/guardian"
)

// membershipNetwork has a hub "hub", and agencies of every kind; the partner
// is called "hub" too, which the network file allows.
func membershipNetwork(tb testing.TB) *guardian.Network {
	tb.Helper()
	var agencies []*guardian.Agency
	var agreements []*guardian.Agreement
	for _, a := range []struct {
		id        string
		kind      guardian.AgencyKind
		countries []string
	}{
		{"hub", guardian.AgencyPartner, []string{"PY"}},
		{"lo", guardian.AgencyLiaison, []string{"BR"}},
		{"fb", guardian.AgencyFallback, nil},
		{"home", guardian.AgencyDomestic, []string{"US"}},
	} {
		ch := guardian.ChannelDirect
		if a.kind == guardian.AgencyLiaison {
			ch = guardian.ChannelLiaison
		}
		agencies = append(agencies, &guardian.Agency{ID: a.id, Name: a.id, Kind: a.kind})
		agreements = append(agreements, &guardian.Agreement{Agency: a.id, Channel: ch, Countries: a.countries})
	}
	n, err := guardian.NewNetwork(guardian.Hub{ID: "hub", Name: "Hub", Country: "US"}, agencies, agreements)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestOrganisationText(t *testing.T) {
	for _, o := range []guardian.Organisation{guardian.HubOrganisation("demo-hub"), guardian.AgencyOrganisation("py-fiscalia-cyber")} {
		b, err := o.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back guardian.Organisation
		if err := back.UnmarshalText(b); err != nil || back != o {
			t.Errorf("%q read back as %v, %v", b, back, err)
		}
	}
	if got := guardian.AgencyOrganisation("py").String(); got != "agency:py" {
		t.Errorf("String = %q", got)
	}
	for _, bad := range []string{"", "py", "hub:", ":py", "police:py", "Agency:py"} {
		if _, err := guardian.ParseOrganisation(bad); guardian.ErrorCode(err) != guardian.EINVALID {
			t.Errorf("ParseOrganisation(%q) = %v", bad, err)
		}
	}
	// In JSON too an organisation is its text.
	b, _ := json.Marshal(struct{ O guardian.Organisation }{guardian.HubOrganisation("h")})
	if string(b) != `{"O":"hub:h"}` {
		t.Errorf("JSON %s", b)
	}
	var back struct{ O guardian.Organisation }
	if err := json.Unmarshal([]byte(`{"O":"agency:py"}`), &back); err != nil || back.O != guardian.AgencyOrganisation("py") {
		t.Errorf("from JSON: %v, %v", back.O, err)
	}
	if b, _ := json.Marshal(struct{ O guardian.Organisation }{}); string(b) != `{"O":""}` {
		t.Errorf("zero organisation JSON %s", b)
	}
	if err := json.Unmarshal([]byte(`{"O":""}`), &back); err != nil || !back.O.IsZero() {
		t.Errorf("zero organisation from JSON: %v, %v", back.O, err)
	}
	if err := json.Unmarshal([]byte(`{"O":"py"}`), &back); err == nil {
		t.Error("JSON accepted an organisation without kind")
	}
}

func TestOrganisationResolve(t *testing.T) {
	n := membershipNetwork(t)
	tests := []struct {
		o        guardian.Organisation
		agencyID string // "" for the hub
		ok       bool
	}{
		{guardian.HubOrganisation("hub"), "", true},
		{guardian.AgencyOrganisation("hub"), "hub", true}, // the partner of the same id
		{guardian.AgencyOrganisation("lo"), "lo", true},
		{guardian.HubOrganisation("lo"), "", false},
		{guardian.AgencyOrganisation("gone"), "", false},
		{guardian.Organisation{}, "", false},
	}
	for _, tt := range tests {
		a, err := tt.o.Resolve(n)
		if (err == nil) != tt.ok {
			t.Errorf("Resolve(%v) = %v, %v; want ok %v", tt.o, a, err, tt.ok)
			continue
		}
		if err != nil {
			if guardian.ErrorCode(err) != guardian.ENOTFOUND {
				t.Errorf("Resolve(%v) code %s", tt.o, guardian.ErrorCode(err))
			}
			continue
		}
		if (a == nil) != (tt.agencyID == "") || (a != nil && a.ID != tt.agencyID) {
			t.Errorf("Resolve(%v) = %v, want agency %q", tt.o, a, tt.agencyID)
		}
	}
}

func TestRoleAllowedIn(t *testing.T) {
	n := membershipNetwork(t)
	orgs := []guardian.Organisation{
		guardian.HubOrganisation("hub"),
		guardian.AgencyOrganisation("hub"), // partner
		guardian.AgencyOrganisation("lo"),
		guardian.AgencyOrganisation("fb"),
		guardian.AgencyOrganisation("home"),
	}
	// By role, whether it is allowed in each of orgs, in order.
	want := map[guardian.Role][5]bool{
		guardian.RoleHubAdmin:           {true, false, false, false, false},
		guardian.RoleHubAnalyst:         {true, false, false, false, false},
		guardian.RoleHubSupervisor:      {true, false, false, false, false},
		guardian.RoleAuditor:            {true, false, false, false, false},
		guardian.RoleAgencyInvestigator: {false, true, false, true, true},
		guardian.RoleAgencySupervisor:   {false, true, true, true, true},
		guardian.RoleLiaisonOfficer:     {false, false, true, false, false},
	}
	if len(want) != len(guardian.Roles()) {
		t.Fatalf("%d roles, %d in the table", len(guardian.Roles()), len(want))
	}
	for _, r := range guardian.Roles() {
		if !r.Valid() {
			t.Errorf("%s is not valid", r)
		}
		for i, o := range orgs {
			a, err := o.Resolve(n)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.AllowedIn(o, a); got != want[r][i] {
				t.Errorf("%s in %v: %v, want %v", r, o, got, want[r][i])
			}
			if err := guardian.CheckMembership(n, o, []guardian.Role{r}); (err == nil) != want[r][i] {
				t.Errorf("CheckMembership(%v, %s) = %v", o, r, err)
			}
		}
	}
	if guardian.Role("admin").Valid() || guardian.Role("").Valid() {
		t.Error("an unknown role is valid")
	}
	if guardian.RoleAgencySupervisor.AllowedIn(guardian.AgencyOrganisation("lo"), nil) {
		t.Error("an agency role is allowed without the agency")
	}
}

func TestCheckMembership(t *testing.T) {
	n := membershipNetwork(t)
	hub := guardian.HubOrganisation("hub")
	for _, tt := range []struct {
		name  string
		o     guardian.Organisation
		roles []guardian.Role
		code  string
	}{
		{"two hub roles", hub, []guardian.Role{guardian.RoleHubAnalyst, guardian.RoleAuditor}, ""},
		{"no role", hub, nil, guardian.EINVALID},
		{"unknown role", hub, []guardian.Role{"chief"}, guardian.EINVALID},
		{"one role misplaced", hub, []guardian.Role{guardian.RoleHubAnalyst, guardian.RoleLiaisonOfficer}, guardian.EINVALID},
		{"unknown agency", guardian.AgencyOrganisation("gone"), []guardian.Role{guardian.RoleAgencySupervisor}, guardian.ENOTFOUND},
	} {
		if got := guardian.ErrorCode(guardian.CheckMembership(n, tt.o, tt.roles)); got != tt.code {
			t.Errorf("%s: code %q, want %q", tt.name, got, tt.code)
		}
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range guardian.Roles() {
		if got, err := guardian.ParseRole(string(r)); err != nil || got != r {
			t.Errorf("ParseRole(%q) = %v, %v", r, got, err)
		}
	}
	_, err := guardian.ParseRole("Auditor")
	if guardian.ErrorCode(err) != guardian.EINVALID || !strings.Contains(guardian.ErrorMessage(err), "liaison-officer") {
		t.Errorf("ParseRole(Auditor) = %v", err)
	}
}

// TestUserSecretsStayInside checks that neither JSON nor a log line of a
// user, session or token carries a hash or secret.
func TestUserSecretsStayInside(t *testing.T) {
	u := &guardian.User{
		ID: 7, Name: "ana@example.org", Organisation: guardian.AgencyOrganisation("py"),
		Roles:              []guardian.Role{guardian.RoleAgencyInvestigator},
		PasswordHash:       "$argon2id$SECRET-HASH",
		TOTPSecret:         []byte("SECRET-TOTP"),
		TOTPLastStep:       123456789,
		RecoveryCodeHashes: []string{"SECRET-RECOVERY"},
	}
	s := &guardian.Session{Hash: "SECRET-SESSION", UserID: 7}
	tok := &guardian.APIToken{ID: 3, Name: "py-case", Hash: "SECRET-TOKEN", Organisation: guardian.AgencyOrganisation("py"), Role: guardian.RoleAgencyInvestigator}
	var logged strings.Builder
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	log.Info("x", "user", u, "session", s, "token", tok)
	for _, v := range []any{u, s, tok} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		logged.Write(b)
	}
	out := logged.String()
	for _, secret := range []string{"SECRET", "U0VDUkVU", "123456789"} { // U0VDUkVU: base64 of SECRET
		if strings.Contains(out, secret) {
			t.Errorf("output holds %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "ana@example.org") || !strings.Contains(out, "agency:py") {
		t.Errorf("output lacks the user's name or organisation:\n%s", out)
	}
}

func TestActors(t *testing.T) {
	u := &guardian.User{ID: 7, Name: "ana", Organisation: guardian.AgencyOrganisation("py"), Roles: []guardian.Role{guardian.RoleAgencySupervisor}}
	if got, want := u.Actor(), (guardian.Actor{Kind: guardian.ActorUser, ID: "7", Name: "ana", Organisation: "agency:py"}); got != want {
		t.Errorf("user actor %+v, want %+v", got, want)
	}
	if !u.HasRole(guardian.RoleAgencySupervisor) || u.HasRole(guardian.RoleAgencyInvestigator) {
		t.Error("HasRole")
	}
	tok := &guardian.APIToken{ID: 3, Name: "py-case", Organisation: guardian.AgencyOrganisation("py")}
	if got, want := tok.Actor(), (guardian.Actor{Kind: guardian.ActorNode, ID: "token:3", Name: "py-case", Organisation: "agency:py"}); got != want {
		t.Errorf("token actor %+v, want %+v", got, want)
	}
}
