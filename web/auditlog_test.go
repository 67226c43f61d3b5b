package web_test

import (
	"encoding/base64"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/auditlog/format"
)

// The auditors' pages: the checkpoint, the events, and an event's
// inclusion proof, which the test checks itself against the log's root.

func TestAuditLogPages(t *testing.T) {
	for _, kind := range backends {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			th := openHub(t, kind)
			auditor := th.addPerson("auditor@hub.example.org", hubOrg, guardian.RoleAuditor)
			th.reportTo("DE")
			b := th.browser()
			b.signIn(auditor)
			// Wait for the integrator to take the events so far.
			var size int64
			for deadline := time.Now().Add(20 * time.Second); size < 5; {
				if cp, err := th.hub.AuditLog.Checkpoint(th.ctx); err == nil {
					size = cp.TreeSize
				}
				if time.Now().After(deadline) {
					t.Fatalf("the log has %d leaves", size)
				}
				time.Sleep(50 * time.Millisecond)
			}

			reads := auditReads(th, auditor)
			pg := b.get("/audit-log")
			if pg.status != http.StatusOK {
				t.Fatalf("audit log: %d: %s", pg.status, clip(pg.body))
			}
			if got := auditReads(th, auditor); got != reads+1 {
				t.Errorf("%d reads recorded for one page, want 1", got-reads)
			}
			pageSize := auditTreeSize(t, pg.body)
			if pageSize < size || !strings.Contains(pg.body, "<code>web-test.example.org/audit</code>") ||
				!strings.Contains(pg.body, "web-test.example.org/audit\n"+strconv.FormatInt(pageSize, 10)+"\n") {
				t.Errorf("the checkpoint (size %d) is not shown whole: %s", pageSize, clip(pg.body))
			}
			// Newest first: the first row is the last leaf.
			rows := regexp.MustCompile(`id="audit-event-(\d+)"`).FindAllStringSubmatch(pg.body, -1)
			if len(rows) < 5 || rows[0][1] != strconv.FormatInt(pageSize-1, 10) {
				t.Fatalf("rows %v of a log of %d", rows, pageSize)
			}
			if first, _ := strconv.Atoi(rows[0][1]); first > 0 {
				if second, _ := strconv.Atoi(rows[1][1]); second != first-1 {
					t.Errorf("rows %v are not newest first", rows[:2])
				}
			}
			pg = b.get("/audit-log?action=report.submit")
			for _, m := range regexp.MustCompile(`<td><code>([^<]+)</code></td>`).FindAllStringSubmatch(pg.body, -1) {
				if m[1] != "report.submit" {
					t.Errorf("the report.submit filter shows %s", m[1])
				}
			}
			if !strings.Contains(pg.body, "<code>report.submit</code>") {
				t.Errorf("the filter found no report.submit event")
			}

			// One event: its proof verifies, on the page and here.
			index := int64(1)
			reads = auditReads(th, auditor)
			pg = b.get("/audit-log/" + strconv.FormatInt(index, 10))
			if pg.status != http.StatusOK || !strings.Contains(pg.body, "Verified.") || strings.Contains(pg.body, "Not verified.") {
				t.Fatalf("event %d (%d) is not marked verified: %s", index, pg.status, clip(pg.body))
			}
			if got := auditReads(th, auditor); got != reads+1 {
				t.Errorf("%d reads recorded for one event, want 1", got-reads)
			}
			treeSize := auditTreeSize(t, pg.body)
			var proof tlog.RecordProof
			list := pg.body[strings.Index(pg.body, `<ol class="audit-proof">`):]
			list = list[:strings.Index(list, "</ol>")]
			for _, m := range regexp.MustCompile(`<code>([^<]+)</code>`).FindAllStringSubmatch(list, -1) {
				var h tlog.Hash
				b, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
				if err != nil || len(b) != len(h) {
					t.Fatalf("proof hash %q: %v", m[1], err)
				}
				copy(h[:], b)
				proof = append(proof, h)
			}
			if len(proof) == 0 {
				t.Fatalf("no proof hashes on the page")
			}
			leaves, err := th.hub.Store.FindAuditLeaves(th.ctx, index, index+1)
			if err != nil || len(leaves) != 1 {
				t.Fatalf("leaf %d: %v", index, err)
			}
			leaf, err := format.MarshalLeaf(leaves[0].Event)
			if err != nil {
				t.Fatal(err)
			}
			root, err := th.hub.AuditLog.RootHash(th.ctx, treeSize)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckRecord(proof, treeSize, root, index, tlog.RecordHash(leaf)); err != nil {
				t.Errorf("the page's proof of leaf %d in a tree of %d: %v", index, treeSize, err)
			}
			if !strings.Contains(html.UnescapeString(pg.body), base64.StdEncoding.EncodeToString(root[:])) {
				t.Errorf("the page does not show the root it checked against")
			}

			// Indexes that are not leaves of the checkpoint's tree.
			reads = auditReads(th, auditor)
			for _, s := range []string{"99999999", "-1", "01", "1x", strconv.FormatInt(treeSize+1000, 10), "99999999999999999999"} {
				if pg := b.get("/audit-log/" + s); pg.status != http.StatusNotFound {
					t.Errorf("/audit-log/%s: %d", s, pg.status)
				}
			}
			if got := auditReads(th, auditor); got != reads {
				t.Errorf("%d reads recorded for indexes that are not leaves", got-reads)
			}
		})
	}
}

// auditReads counts the audit.entries.read events of p.
func auditReads(th *testHub, p *person) int {
	n := 0
	for _, ev := range hubEvents(th, "audit.entries.read") {
		if ev.Actor == p.Actor() && ev.Outcome == guardian.OutcomeSuccess {
			n++
		}
	}
	return n
}

var treeSizeRE = regexp.MustCompile(`<dt>Tree size</dt><dd>(\d+)</dd>`)

// auditTreeSize reads the checkpoint's tree size from a page.
func auditTreeSize(t *testing.T, body string) int64 {
	t.Helper()
	m := treeSizeRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no tree size on the page: %s", clip(body))
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}
