package guardian_test

import (
	"testing"
	"time"

	"github.com/guardian-network/guardian"
)

// TestTriageFirst: a report goes ahead in the triage queue when its
// document makes it priority 1, or when it has files and details for
// none (no file is known to have been viewed: triage makes it E).
func TestTriageFirst(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	withDetails := &guardian.File{ID: "a", DetailsAt: &at}
	without := &guardian.File{ID: "b"}
	for _, c := range []struct {
		name  string
		prio  guardian.Priority
		files []*guardian.File
		want  bool
	}{
		{"priority 1, no files", guardian.Priority1, nil, true},
		{"priority 1, files with details", guardian.Priority1, []*guardian.File{withDetails}, true},
		{"priority 3, no files", guardian.Priority3, nil, false},
		{"stored before the provisional priority", "", nil, false},
		{"priority 2, no file has details", guardian.Priority2, []*guardian.File{without, without}, true},
		{"priority 3, one file of two has details", guardian.Priority3, []*guardian.File{without, withDetails}, false},
	} {
		r := &guardian.Report{ProvisionalPriority: c.prio, Files: c.files}
		if got := r.TriageFirst(); got != c.want {
			t.Errorf("%s: TriageFirst = %v, want %v", c.name, got, c.want)
		}
	}
}
