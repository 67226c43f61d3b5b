package guardian_test

import (
	"strings"
	"testing"
	"time"

	"github.com/guardian-network/guardian"
)

func TestJustification(t *testing.T) {
	for _, tt := range []struct {
		j      guardian.Justification
		ok     bool
		stored string
	}{
		{guardian.Justification{CaseNumber: " PY-117 "}, true, "case PY-117"},
		{guardian.Justification{Reason: "preservation request"}, true, "preservation request"},
		{guardian.Justification{CaseNumber: "PY-117", Reason: "preservation"}, true, "case PY-117: preservation"},
		{guardian.Justification{Reason: "número de caso – ñandú"}, true, "número de caso – ñandú"},
		{guardian.Justification{}, false, ""},
		{guardian.Justification{CaseNumber: " ", Reason: " "}, false, ""},
		{guardian.Justification{Reason: "two\nlines"}, false, ""},
		{guardian.Justification{Reason: "tab\there"}, false, ""},
		{guardian.Justification{Reason: "bidi \u202e override"}, false, ""},
		{guardian.Justification{CaseNumber: "\xff"}, false, ""},
		{guardian.Justification{Reason: strings.Repeat("x", guardian.MaxJustificationLen)}, true, strings.Repeat("x", guardian.MaxJustificationLen)},
		{guardian.Justification{Reason: strings.Repeat("x", guardian.MaxJustificationLen+1)}, false, ""},
	} {
		err := tt.j.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v, want ok %v", tt.j, err, tt.ok)
		}
		if err != nil && guardian.ErrorCode(err) != guardian.EINVALID {
			t.Errorf("Validate(%+v) code %s", tt.j, guardian.ErrorCode(err))
		}
		if tt.ok && tt.j.String() != tt.stored {
			t.Errorf("String(%+v) = %q, want %q", tt.j, tt.j.String(), tt.stored)
		}
	}
}

func TestLegalAuthority(t *testing.T) {
	la := &guardian.LegalAuthority{ReferralID: 1, FileIDs: []string{"a", "b"}, Reference: "Warrant 2026/55, Juzgado 3"}
	if err := la.Validate(); err != nil {
		t.Error(err)
	}
	if !la.Covers("b") || la.Covers("c") {
		t.Error("Covers")
	}
	for _, bad := range []*guardian.LegalAuthority{
		{FileIDs: []string{"a"}},
		{FileIDs: []string{"a"}, Reference: "line\nbreak"},
		{FileIDs: []string{"a"}, Reference: strings.Repeat("x", guardian.MaxLegalAuthorityLen+1)},
		{Reference: "Warrant 1"},
	} {
		if err := bad.Validate(); guardian.ErrorCode(err) != guardian.EINVALID {
			t.Errorf("Validate(%+v) = %v", bad, err)
		}
	}
}

func TestConsultationDay(t *testing.T) {
	asuncion := time.FixedZone("-03", -3*3600)
	// 22:30 in Asunción on 1 March is 01:30 UTC on 2 March.
	if got := guardian.ConsultationDay(time.Date(2026, 3, 1, 22, 30, 0, 0, asuncion)); got != "2026-03-02" {
		t.Errorf("ConsultationDay = %s, want the UTC date 2026-03-02", got)
	}
}
