package triage

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDocsMatchRules checks that docs/triage.md states every rule, weight,
// factor and threshold of rules.go with the value the code uses: in a table
// row whose first cell is the name in backticks and whose second cell is
// the value.
func TestDocsMatchRules(t *testing.T) {
	b, err := os.ReadFile("../docs/triage.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	rows := map[string][]string{}
	for _, line := range strings.Split(doc, "\n") {
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) < 4 || cells[0] != "" {
			continue
		}
		key := strings.TrimSpace(cells[1])
		if len(key) < 3 || key[0] != '`' || key[len(key)-1] != '`' {
			continue
		}
		key = key[1 : len(key)-1]
		rows[key] = append(rows[key], strings.TrimSpace(cells[2]))
	}
	check := func(name string, v float64) {
		t.Helper()
		want := strconv.FormatFloat(v, 'f', -1, 64)
		got, ok := rows[name]
		switch {
		case !ok:
			t.Errorf("docs/triage.md has no row for `%s` (%s in rules.go)", name, want)
		case len(got) > 1:
			t.Errorf("docs/triage.md has %d rows for `%s`", len(got), name)
		case got[0] != want:
			t.Errorf("docs/triage.md gives `%s` as %q; rules.go says %s", name, got[0], want)
		}
	}
	for _, r := range allRules() {
		check(r.Name, r.Weight)
	}
	for k, w := range evidenceWeights {
		check(string(k), w)
	}
	for e, f := range ipEventFactors {
		check(cmpOr(e, "(no event)"), f)
	}
	for ty, f := range addressTypeFactors {
		check(cmpOr(ty, "(no type)"), f)
	}
	for _, b := range recencyBands {
		check("within "+strconv.Itoa(int(b.Within/(24*time.Hour)))+" day"+map[bool]string{true: "", false: "s"}[b.Within == 24*time.Hour], b.Factor)
	}
	check("older", recencyOldest)
	check("unknown time", recencyUnknown)
	for name, v := range map[string]float64{
		"associatedAccountFactor":   associatedAccountFactor,
		"webPageDomainFactor":       webPageDomainFactor,
		"recencyOldest":             recencyOldest,
		"recencyUnknown":            recencyUnknown,
		"supportScale":              supportScale,
		"proxyFactor":               proxyFactor,
		"unroutableFactor":          unroutableFactor,
		"markersFloor":              markersFloor,
		"confidentTop":              confidentTop,
		"confidentOther":            confidentOther,
		"incidentTimeUnzonedFactor": incidentTimeUnzonedFactor,
		"urgencyPriority1":          urgencyPriority1,
		"urgencyPriority2":          urgencyPriority2,
		"youngVictimAge":            youngVictimAge,
	} {
		check(name, v)
	}
	for code, meaning := range pseudoCountries {
		if got := rows[code]; len(got) != 1 || got[0] != meaning {
			t.Errorf("docs/triage.md gives pseudo code `%s` as %q; rules.go says %q", code, got, meaning)
		}
	}
	if !strings.Contains(doc, "Rules version: `"+RulesVersion+"`") {
		t.Errorf("docs/triage.md does not name rules version %s", RulesVersion)
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
