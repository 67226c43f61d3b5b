package guardian_test

import (
	"testing"
	"time"

	"github.com/guardian-network/guardian"
)

// TestTriageFirst: a report goes ahead in the triage queue when its
// document makes it priority 1, or when it has files and the reporter
// viewed none (false or absent: triage makes it E).
func TestTriageFirst(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	yes, no := true, false
	viewed := &guardian.File{ID: "a", DetailsAt: &at, ViewedByReporter: &yes}
	notViewed := &guardian.File{ID: "b", DetailsAt: &at, ViewedByReporter: &no}
	without := &guardian.File{ID: "c"}
	for _, c := range []struct {
		name  string
		prio  guardian.Priority
		files []*guardian.File
		want  bool
	}{
		{"priority 1, no files", guardian.Priority1, nil, true},
		{"priority 1, a viewed file", guardian.Priority1, []*guardian.File{viewed}, true},
		{"priority 3, no files", guardian.Priority3, nil, false},
		{"stored before the provisional priority", "", nil, false},
		{"priority 2, no file has details", guardian.Priority2, []*guardian.File{without, without}, true},
		{"priority 3, details say not viewed", guardian.Priority3, []*guardian.File{notViewed, without}, true},
		{"priority 3, one file of two viewed", guardian.Priority3, []*guardian.File{without, viewed}, false},
	} {
		r := &guardian.Report{ProvisionalPriority: c.prio, Files: c.files}
		if got := r.TriageFirst(); got != c.want {
			t.Errorf("%s: TriageFirst = %v, want %v", c.name, got, c.want)
		}
	}
}
