package network

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// MustReadTestdata returns a file of testdata/.
func MustReadTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// edit replaces every occurrence of old in a file by new. old must occur.
type edit struct{ old, new string }

func applyEdits(tb testing.TB, src string, edits []edit) string {
	tb.Helper()
	for _, e := range edits {
		if !strings.Contains(src, e.old) {
			tb.Fatalf("edit: %q is not in the file", e.old)
		}
		src = strings.ReplaceAll(src, e.old, e.new)
	}
	return src
}

// problem is an expected problem: where ("line:col", or "line" when the
// YAML parser gives no column, or "" for the whole file), the text that
// starts there in the edited file, and part of the message.
type problem struct{ pos, at, msg string }

// TestParseErrors edits testdata/minimal.yaml, a valid network, into files
// with problems, and checks that each problem is reported at the right line
// and column, and nothing else is.
func TestParseErrors(t *testing.T) {
	base := string(MustReadTestdata(t, "minimal.yaml"))
	if _, err := Parse("minimal.yaml", []byte(base)); err != nil {
		t.Fatalf("testdata/minimal.yaml: %v", err)
	}
	for _, tt := range []struct {
		name  string
		edits []edit
		want  []problem
	}{{
		name:  "UnknownKey",
		edits: []edit{{"    kind: partner\n", "    kind: partner\n    knid: partner\n"}},
		want:  []problem{{"11:5", "knid", `unknown key "knid" in an agency (expected id, name, kind,`}},
	}, {
		name:  "DuplicateKey",
		edits: []edit{{"    name: Paraguay Partner (test)\n", "    name: Paraguay Partner (test)\n    name: Again\n"}},
		want:  []problem{{"10:5", "name: Again", `duplicate key "name" in an agency (first at line 9)`}},
	}, {
		name:  "MissingKey",
		edits: []edit{{"    retention: 730d\n    dispatch: automatic\n", "    retention: 730d\n"}},
		want:  []problem{{"34:5", "agency: py-partner", `an agreement has no "dispatch"`}},
	}, {
		name:  "NotAMapping",
		edits: []edit{{"duty: {email: [south@example.org]}", "duty: [south@example.org]"}},
		want:  []problem{{"20:11", "[", "duty must be a mapping of keys to values, not a list"}},
	}, {
		name:  "NotAList",
		edits: []edit{{"languages: [es]\n    duty: {email: [south", "languages: es\n    duty: {email: [south"}},
		want:  []problem{{"19:16", "es", `languages must be a list, not the value "es"`}},
	}, {
		name:  "EmptyValue",
		edits: []edit{{"name: Southern Liaison (test)", `name: ""`}},
		want:  []problem{{"16:11", `""`, "agency name is empty"}},
	}, {
		name:  "MissingSection",
		edits: []edit{{"hub:\n  id: test-hub\n  name: Test Hub\n  country: US\n  handling-codes:\n    - {code: H0, description: May be used as evidence.}\n", ""}},
		want:  []problem{{"1:1", "agencies:", `the network file has no "hub"`}},
	}, {
		name:  "MergeKey",
		edits: []edit{{"  country: US\n  handling", "  country: US\n  <<: {x: 1}\n  handling"}},
		want:  []problem{{"5:3", "<<", "merge keys (<<) are not supported"}},
	}, {
		name:  "InvalidIDReportedOnce",
		edits: []edit{{"py-partner", "Py_Partner"}},
		want:  []problem{{"8:9", "Py_Partner", `agency id "Py_Partner" must be at most 64 lower-case letters`}},
	}, {
		name:  "DuplicateAgencyID",
		edits: []edit{{"  - id: domestic\n", "  - id: lo-south\n"}},
		want: []problem{
			{"27:9", "lo-south", `agency id "lo-south" is already used at line 15`},
			{"57:13", "domestic", `no agency has the id "domestic"`},
		},
	}, {
		name:  "DuplicateAgencyName",
		edits: []edit{{"name: Fallback Desk (test)", "name: Southern Liaison (test)"}},
		want:  []problem{{"22:11", "Southern", `agency name "Southern Liaison (test)" is already used at line 16`}},
	}, {
		name:  "UnknownKind",
		edits: []edit{{"kind: fallback", "kind: international"}},
		want:  []problem{{"23:11", "international", `kind "international" is not one of partner, liaison, fallback, domestic`}},
	}, {
		name:  "CountryHint",
		edits: []edit{{"    country: PY", "    country: UK"}},
		want:  []problem{{"11:14", "UK", `agency country "UK" is not an ISO 3166-1 alpha-2 code (the United Kingdom is GB)`}},
	}, {
		name:  "CountryInLowerCase",
		edits: []edit{{"countries: [PY]", "countries: [py]"}},
		want:  []problem{{"36:17", "py", `country "py" is not an ISO 3166-1 alpha-2 code (codes are written in capitals: "PY")`}},
	}, {
		name:  "CountryTwiceInOneAgreement",
		edits: []edit{{"[BR, CL]", "[BR, CL, BR]"}},
		want:  []problem{{"44:25", "BR", "country BR is listed twice in this agreement (first at line 44)"}},
	}, {
		name:  "CountryUnderTwoDirectAgreements",
		edits: []edit{{"countries: [US]", "countries: [US, PY]"}},
		want:  []problem{{"59:21", "PY", `country PY is already covered by the direct agreement of "py-partner" (line 36)`}},
	}, {
		name: "CountryUnderTwoLiaisonAgreements",
		edits: []edit{
			{"  - id: fallback\n", "  - {id: lo-north, name: North, kind: liaison, country: CA, languages: [en], duty: {email: [north@example.org]}}\n  - id: fallback\n"},
			{"  - agency: fallback\n", "  - {agency: lo-north, channel: liaison, countries: [CL], data-scope: [], handling-code: H0, acknowledge-within: {E: 1h, 1: 1h, 2: 1h, 3: 1h}, retention: 1d, dispatch: confirm}\n  - agency: fallback\n"},
		},
		want: []problem{{"51:54", "CL", `country CL is already covered by the liaison agreement of "lo-south" (line 45)`}},
	}, {
		name:  "LiaisonChannelForPartner",
		edits: []edit{{"    channel: direct\n    countries: [PY]", "    channel: liaison\n    countries: [PY]"}},
		want:  []problem{{"35:14", "liaison", `channel liaison is for liaison offices, and agency "py-partner" is of kind partner`}},
	}, {
		name:  "DirectChannelForLiaison",
		edits: []edit{{"    channel: liaison", "    channel: direct"}},
		want:  []problem{{"43:14", "direct", `agency "lo-south" is a liaison office, so its agreement's channel must be liaison`}},
	}, {
		name:  "PartnerWithoutCountries",
		edits: []edit{{"    countries: [PY]\n", "    countries: []\n"}},
		want:  []problem{{"36:16", "[]", "a partner agreement must list the countries it covers"}},
	}, {
		name:  "FallbackWithCountries",
		edits: []edit{{"  - agency: fallback\n    channel: direct\n", "  - agency: fallback\n    channel: direct\n    countries: [JP]\n"}},
		want:  []problem{{"52:16", "[JP]", "the fallback agreement lists no countries"}},
	}, {
		name:  "TwoFallbacks",
		edits: []edit{{"kind: domestic", "kind: fallback"}},
		want: []problem{
			{"8:3", "- id: py-partner", "no agency of kind domestic: one must receive the reports that have no location"},
			{"29:11", "fallback", "a second fallback agency: the one at line 23 is the fallback"},
			{"59:16", "[US]", "the fallback agreement lists no countries"},
		},
	}, {
		name:  "NoFallback",
		edits: []edit{{"kind: fallback", "kind: partner"}},
		want: []problem{
			{"8:3", "- id: py-partner", "no agency of kind fallback"},
			{"50:5", "agency: fallback", "a partner agreement must list the countries it covers"},
		},
	}, {
		name:  "DomesticAbroad",
		edits: []edit{{"    country: US\n    languages: [en]\n    duty: {email: [domestic", "    country: CA\n    languages: [en]\n    duty: {email: [domestic"}},
		want:  []problem{{"30:14", "CA", "the domestic agency is in CA but the hub is in US (line 4)"}},
	}, {
		name:  "UnknownAgency",
		edits: []edit{{"agency: lo-south", "agency: lo-north"}},
		want: []problem{
			{"15:9", "lo-south", `agency "lo-south" has no agreement`},
			{"42:13", "lo-north", `no agency has the id "lo-north"`},
		},
	}, {
		name:  "TwoAgreementsForOneAgency",
		edits: []edit{{"  - agency: domestic", "  - agency: fallback"}},
		want: []problem{
			{"27:9", "domestic", `agency "domestic" has no agreement`},
			{"57:13", "fallback", `agency "fallback" already has an agreement at line 50`},
		},
	}, {
		name:  "HandlingCodeTwice",
		edits: []edit{{"    - {code: H0, description: May be used as evidence.}\n", "    - {code: H0, description: May be used as evidence.}\n    - {code: H0, description: Again.}\n"}},
		want:  []problem{{"7:14", "H0", `handling code "H0" is already defined at line 6`}},
	}, {
		name:  "UnknownHandlingCode",
		edits: []edit{{"    handling-code: H0\n    acknowledge-within: {E: 1h, 1: 4h, 2: 3d", "    handling-code: H9\n    acknowledge-within: {E: 1h, 1: 4h, 2: 3d"}},
		want:  []problem{{"38:20", "H9", `handling code "H9" is not one of the hub's handling-codes`}},
	}, {
		name:  "BadLanguage",
		edits: []edit{{"languages: [es]\n    duty: {email: [py", "languages: [Spanish]\n    duty: {email: [py"}},
		want:  []problem{{"12:17", "Spanish", `language "Spanish" must be a BCP 47 tag`}},
	}, {
		name:  "BadEmail",
		edits: []edit{{"[south@example.org]", "[south at example.org]"}},
		want:  []problem{{"20:20", "south at", `"south at example.org" is not an e-mail address; write only the address`}},
	}, {
		name:  "EmailWithDisplayName",
		edits: []edit{{"[south@example.org]", `["Duty <south@example.org>"]`}},
		want:  []problem{{"20:20", `"Duty`, "write only the address"}},
	}, {
		name:  "EmailWithoutDomain",
		edits: []edit{{"[south@example.org]", "[south@localhost]"}},
		want:  []problem{{"20:20", "south@", "is not an e-mail address"}},
	}, {
		name:  "NoEmail",
		edits: []edit{{"[south@example.org]", "[]"}},
		want:  []problem{{"20:19", "[]", "duty email must list at least one address"}},
	}, {
		name:  "PlainHTTPWebhook",
		edits: []edit{{"https://py.example.org/hook", "http://py.example.org/hook"}},
		want:  []problem{{"13:46", `"http://`, "webhook must be an https:// URL"}},
	}, {
		name:  "WebhookWithPassword",
		edits: []edit{{"https://py.example.org/hook", "https://user:secret@py.example.org/hook"}},
		want:  []problem{{"13:46", `"https://user`, "webhook URL must not hold a user name or password"}},
	}, {
		name:  "BadRecipient",
		edits: []edit{{"ttj9vz]", "ttj9va]"}},
		want:  []problem{{"14:18", "age19zuf", "is not a valid age public key"}},
	}, {
		name:  "RecipientTwice",
		edits: []edit{{"[age19zuf93h5adv5pn3cjf5gdm9jtdw4w4elj7t0yff4mcpzmqdvad8sttj9vz]", "[age19zuf93h5adv5pn3cjf5gdm9jtdw4w4elj7t0yff4mcpzmqdvad8sttj9vz, age19zuf93h5adv5pn3cjf5gdm9jtdw4w4elj7t0yff4mcpzmqdvad8sttj9vz]"}},
		want:  []problem{{"14:82", "age19zuf", "recipient is listed twice"}},
	}, {
		name:  "RecipientOfAnotherAgency",
		edits: []edit{{"    duty: {email: [south@example.org]}\n", "    duty: {email: [south@example.org]}\n    recipients: [age19zuf93h5adv5pn3cjf5gdm9jtdw4w4elj7t0yff4mcpzmqdvad8sttj9vz]\n"}},
		want:  []problem{{"21:18", "age19zuf", `recipient is already a key of agency "py-partner"`}},
	}, {
		name:  "BadDuration",
		edits: []edit{{"{E: 1h, 1: 4h, 2: 3d, 3: 14d}", "{E: 1 hour, 1: 4h, 2: 3d, 3: 14d}"}},
		want:  []problem{{"39:29", "1 hour", `deadline for priority E: "1 hour" is not a duration`}},
	}, {
		name:  "ZeroDuration",
		edits: []edit{{"{E: 1h, 1: 4h, 2: 3d, 3: 14d}", "{E: 0m, 1: 4h, 2: 3d, 3: 14d}"}},
		want:  []problem{{"39:29", "0m", "must be longer than zero"}},
	}, {
		name:  "SwappedDeadlines",
		edits: []edit{{"{E: 1h, 1: 4h, 2: 3d, 3: 14d}", "{E: 1h, 1: 4h, 2: 14d, 3: 3d}"}},
		want:  []problem{{"39:51", "3d", "deadline for priority 3 (3d) is shorter than for the more urgent priority 2 (14d)"}},
	}, {
		name:  "MissingPriority",
		edits: []edit{{"{E: 1h, 1: 4h, 2: 3d, 3: 14d}", "{1: 4h, 2: 3d, 3: 14d}"}},
		want:  []problem{{"39:25", "{1: 4h", `acknowledge-within has no "E"`}},
	}, {
		name:  "UnknownPriority",
		edits: []edit{{"{E: 1h, 1: 4h, 2: 3d, 3: 14d}", "{E: 1h, 1: 4h, 2: 3d, 3: 14d, 4: 30d}"}},
		want:  []problem{{"39:55", "4: 30d", `unknown key "4" in acknowledge-within (expected E, 1, 2, 3)`}},
	}, {
		name:  "RetentionNotInDays",
		edits: []edit{{"retention: 730d", "retention: 2y"}},
		want:  []problem{{"40:16", "2y", `retention "2y" must be a number of days, like 730d`}},
	}, {
		name:  "UnknownDispatch",
		edits: []edit{{"dispatch: confirm\n  - agency: fallback", "dispatch: manual\n  - agency: fallback"}},
		want:  []problem{{"49:15", "manual", `dispatch "manual" is not one of automatic, confirm`}},
	}, {
		name:  "FileContentWithoutFiles",
		edits: []edit{{"[suspect-details, files, file-content]", "[suspect-details, file-content]"}},
		want:  []problem{{"37:17", "[suspect-details", "data-scope has file-content without files"}},
	}, {
		name:  "UnknownSection",
		edits: []edit{{"data-scope: [suspect-details]", "data-scope: [suspects]"}},
		want:  []problem{{"45:18", "suspects", `unknown data-scope section "suspects" (expected reporter-contacts, suspect-details, victim-details, files, file-content)`}},
	}, {
		name:  "ControlCharacter",
		edits: []edit{{"name: Test Hub", `name: "Test\u0007Hub"`}},
		want:  []problem{{"3:9", `"Test`, "hub name must be one line of text without control characters"}},
	}, {
		name:  "SpacesAroundValue",
		edits: []edit{{"name: Test Hub", `name: " Test Hub"`}},
		want:  []problem{{"3:9", `" Test`, `hub name " Test Hub" has spaces at its start or end`}},
	}, {
		name:  "AgreementsNotAList",
		edits: []edit{{"agreements:\n", "agreements: none\nold-agreements:\n"}},
		want: []problem{
			{"33:13", "none", `agreements must be a list, not the value "none"`},
			{"34:1", "old-agreements", `unknown key "old-agreements" in the network file (expected hub, agencies, agreements)`},
		},
	}, {
		name:  "WebhookWithSpace",
		edits: []edit{{"https://py.example.org/hook", "https://py.example.org/a hook"}},
		want:  []problem{{"13:46", `"https://py`, "webhook URL must not contain spaces"}},
	}, {
		name:  "YAMLSyntax",
		edits: []edit{{"countries: [PY]", "countries: [PY"}},
		want:  []problem{{"35", "", "invalid YAML: did not find expected ',' or ']'"}},
	}, {
		name:  "Tab",
		edits: []edit{{"hub:\n", "hub:\n\t"}},
		want:  []problem{{"2", "", "invalid YAML: found character that cannot start any token"}},
	}, {
		name:  "SecondDocument",
		edits: []edit{{"    retention: 1825d\n    dispatch: automatic\n", "    retention: 1825d\n    dispatch: automatic\n---\nhub: {}\n"}},
		want:  []problem{{"65:1", "---", "a second YAML document"}},
	}, {
		name:  "ManyProblemsInFileOrder",
		edits: []edit{{"country: PY", "country: ZZ"}, {"kind: liaison", "kind: embassy"}, {"country: US\n  handling", "country: XK\n  handling"}},
		want: []problem{
			{"4:12", "XK", `hub country "XK" is not an ISO 3166-1 alpha-2 code (XK is a user-assigned code for Kosovo`},
			{"11:14", "ZZ", `agency country "ZZ" is not an ISO 3166-1 alpha-2 code`},
			{"17:11", "embassy", `kind "embassy" is not one of`},
		},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			src := applyEdits(t, base, tt.edits)
			_, err := Parse("minimal.yaml", []byte(src))
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Parse: got %v, want an ErrorList", err)
			}
			for i, e := range list {
				if i >= len(tt.want) {
					t.Errorf("unexpected problem: %v", e)
					continue
				}
				checkProblem(t, src, e, tt.want[i])
			}
			for _, w := range tt.want[min(len(list), len(tt.want)):] {
				t.Errorf("missing problem at %s: %s", w.pos, w.msg)
			}
		})
	}
}

// checkProblem compares a reported problem with an expected one, and checks
// that the expectation itself points where it says, so that a wrong line
// number in the table cannot pass unnoticed.
func checkProblem(t *testing.T, src string, e *Error, w problem) {
	t.Helper()
	pos := ""
	switch {
	case e.Line > 0 && e.Column > 0:
		pos = fmt.Sprintf("%d:%d", e.Line, e.Column)
	case e.Line > 0:
		pos = strconv.Itoa(e.Line)
	}
	if pos != w.pos || !strings.Contains(e.Msg, w.msg) || e.File != "minimal.yaml" {
		t.Errorf("got  %v\nwant minimal.yaml:%s: …%s…", e, w.pos, w.msg)
	}
	if w.at == "" {
		return
	}
	var line, col int
	if _, err := fmt.Sscanf(w.pos, "%d:%d", &line, &col); err != nil {
		t.Fatalf("bad position %q in the table", w.pos)
	}
	lines := strings.Split(src, "\n")
	if line > len(lines) || col-1 > len(lines[line-1]) || !strings.HasPrefix(lines[line-1][col-1:], w.at) {
		t.Errorf("table: %s does not point at %q in the edited file", w.pos, w.at)
	}
}

func TestParseWholeFileProblems(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{"", "f.yaml: the file is empty"},
		{"# only a comment\n", "f.yaml: the file is empty"},
		{"[hub, agencies]\n", "f.yaml:1:1: the network file must be a mapping of keys to values, not a list"},
		{"just words\n", `f.yaml:1:1: the network file must be a mapping of keys to values, not the value "just words"`},
		{strings.Repeat("#", MaxFileSize+1), fmt.Sprintf("f.yaml: the file is larger than %d bytes", MaxFileSize)},
	} {
		_, err := Parse("f.yaml", []byte(tt.src))
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%.20q): got %v, want %s", tt.src, err, tt.want)
		}
	}
}

// TestParseAliasExpansionIsBounded checks that a small file whose aliases
// name a large value many times is refused quickly, not walked for minutes.
func TestParseAliasExpansionIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("agencies:\n  - {id: a0, languages: &l [")
	for i := range 2000 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("en")
	}
	b.WriteString("]}\n")
	for i := 1; i < 1000; i++ {
		fmt.Fprintf(&b, "  - {id: a%d, languages: *l}\n", i)
	}
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "too complex") {
		t.Fatalf("got %.300v, want the file refused as too complex", err)
	}
}

// TestParseErrorsAreBounded checks that a file with a problem on every line
// gives a bounded list, and that its Error is short.
func TestParseErrorsAreBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("agencies:\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "  - {id: Bad%d}\n", i)
	}
	_, err := Parse("many.yaml", []byte(b.String()))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != maxErrors {
		t.Fatalf("got %d problems, want %d", len(list), maxErrors)
	}
	if lines := strings.Count(err.Error(), "\n") + 1; lines != errorListShown+1 {
		t.Errorf("Error() has %d lines, want %d", lines, errorListShown+1)
	}
	if !strings.HasSuffix(err.Error(), "(and 90 more problems)") {
		t.Errorf("Error() ends %q", err.Error()[len(err.Error())-40:])
	}
}

func TestParseRecipients(t *testing.T) {
	base := string(MustReadTestdata(t, "minimal.yaml"))
	classic := "age19zuf93h5adv5pn3cjf5gdm9jtdw4w4elj7t0yff4mcpzmqdvad8sttj9vz"
	pqID, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	pq := pqID.Recipient().String()
	secretID, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	secret := secretID.String()

	t.Run("PostQuantum", func(t *testing.T) {
		n, err := Parse("pq.yaml", []byte(strings.Replace(base, classic, pq, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if a, _ := n.Agency("py-partner"); a.Recipients[0] != pq {
			t.Errorf("recipients = %q", a.Recipients)
		}
	})
	t.Run("MixedRefused", func(t *testing.T) {
		_, err := Parse("mixed.yaml", []byte(strings.Replace(base, classic, classic+", "+pq, 1)))
		if err == nil || !strings.Contains(err.Error(), "cannot be mixed") {
			t.Errorf("got %v, want mixing refused", err)
		}
	})
	t.Run("SecretKeyNeverRepeated", func(t *testing.T) {
		_, err := Parse("secret.yaml", []byte(strings.Replace(base, classic, secret, 1)))
		if err == nil || !strings.Contains(err.Error(), "SECRET key") {
			t.Fatalf("got %v, want the secret key refused", err)
		}
		if strings.Contains(err.Error(), secret[15:]) {
			t.Errorf("the error repeats the secret key: %v", err)
		}
	})
}

func TestDurations(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		out  string
	}{
		{"30m", 30 * time.Minute, "30m"},
		{"4h", 4 * time.Hour, "4h"},
		{"3d", 72 * time.Hour, "3d"},
		{"1d12h", 36 * time.Hour, "1d12h"},
		{"36h", 36 * time.Hour, "1d12h"},
		{"90m", 90 * time.Minute, "1h30m"},
		{"366d", 366 * 24 * time.Hour, "366d"},
	} {
		got, err := parseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if s := formatDuration(got); s != tt.out {
			t.Errorf("formatDuration(%v) = %q, want %q", got, s, tt.out)
		}
	}
	for _, bad := range []string{"", "d", "1", "1s", "1h1d", "-1h", "1.5h", "0d", "367d", "1 h", "1H", "9999999m"} {
		if d, err := parseDuration(bad); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", bad, d)
		}
	}
}
