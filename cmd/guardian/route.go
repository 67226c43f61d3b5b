package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/guardian-network/guardian"
)

// RouteCommand inspects routing: "guardian route explain REPORT_ID".
type RouteCommand struct {
	Stdout, Stderr io.Writer
	Store          StoreConfig
	MasterKeyFile  string // default master.key in --data
}

// explanation is what "route explain --json" prints.
type explanation struct {
	ReportID   int64                      `json:"reportId"`
	Assessment *guardian.ReportAssessment `json:"assessment"`
	Referrals  []*guardian.Referral       `json:"referrals"`
	Queue      *guardian.QueueEntry       `json:"analystQueue,omitempty"`
	Files      []*guardian.File           `json:"files"`
	// Matches are the files' exact matches in the hash lists as they are
	// now, by file id. The matches triage used, PDQ ones included, are
	// in the assessment (assessment.triage.known).
	Matches map[string][]guardian.HashMatch `json:"hashMatches,omitempty"`
	// Bundle is the other reports with a file matched as the same list
	// item as one of this report's, the most recent explainBundle of
	// them.
	Bundle *guardian.HashBundle `json:"bundle,omitempty"`
}

// explainBundle is how many of a bundle's other reports route explain
// lists.
const explainBundle = 50

// Run handles "route explain REPORT_ID [--json]".
func (c *RouteCommand) Run(ctx context.Context, args []string) error {
	const usage = "usage: guardian route explain REPORT_ID [--json]"
	if len(args) == 0 || args[0] != "explain" {
		return usageError{cmd: "route", msg: usage}
	}
	fs := flag.NewFlagSet("guardian route explain", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	c.Store.register(fs)
	registerMasterKey(fs, &c.MasterKeyFile)
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	pos, err := parseFlagsAndArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{cmd: "route", msg: usage}
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return usageError{cmd: "route", msg: fmt.Sprintf("%q is not a report id", pos[0])}
	}
	// The assessment names the report's addresses and telephone codes: it
	// is sealed with the report's documents.
	store, err := openWithMasterKey(ctx, c.Store, c.MasterKeyFile, stderrLogger(c.Stderr))
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()
	var e explanation
	e.ReportID = id
	if e.Assessment, err = store.FindReportAssessment(ctx, id); err != nil {
		return err
	}
	if e.Referrals, err = store.FindReferrals(ctx, id); err != nil {
		return err
	}
	if q, err := store.FindQueueEntry(ctx, id); err == nil {
		e.Queue = q
	} else if guardian.ErrorCode(err) != guardian.ENOTFOUND {
		return err
	}
	if e.Files, err = store.FindFiles(ctx, id); err != nil {
		return err
	}
	for _, f := range e.Files {
		m, err := store.FindHashMatches(ctx, fileHashes(f))
		if err != nil {
			return err
		}
		if len(m) > 0 {
			if e.Matches == nil {
				e.Matches = make(map[string][]guardian.HashMatch)
			}
			e.Matches[f.ID] = m
		}
	}
	if e.Bundle, err = store.FindHashBundle(ctx, id, explainBundle); err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(e)
	}
	writeExplanation(c.Stdout, &e)
	return nil
}

// writeExplanation prints e for a person.
func writeExplanation(w io.Writer, e *explanation) {
	a, t := &e.Assessment.Assessment, &e.Assessment.Triage
	fmt.Fprintf(w, "Report %d (triaged %s, rules %s)\n\n", e.ReportID, e.Assessment.UpdatedAt.Format(time.RFC3339), e.Assessment.RulesVersion)
	fmt.Fprintln(w, "Jurisdiction")
	if a.NoLocation {
		fmt.Fprintln(w, "  no location: no evidence names a country")
	}
	fmt.Fprintf(w, "  confidence %.3f", a.Confidence)
	for _, f := range a.ConfidenceFactors {
		fmt.Fprintf(w, "  %s %.3f", f.Name, f.Value)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, c := range a.Countries {
		fmt.Fprintf(tw, "  %s\tscore %.3f\tweight %.2f\t\n", c.Country, c.Score, c.Weight)
		for _, ev := range c.Evidence {
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%.2f %s\n", ev.Kind, ev.Value, ev.Source, ev.Weight, ev.Note)
		}
	}
	for _, ev := range a.Unresolved {
		fmt.Fprintf(tw, "  unresolved %s\t%s\t%s\t%s\n", ev.Kind, ev.Value, ev.Source, ev.Note)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nTriage\n  score %.2f  urgency %.2f  label %s  priority %s (review priority %s)", t.Score, t.Urgency, t.Label, t.Priority, t.ReviewPriority)
	if t.Escalated {
		fmt.Fprint(w, "  escalated")
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, r := range t.Reasons {
		fmt.Fprintf(tw, "  %s\t%s\t%+.2f\t%s\n", r.Rule, r.Scale, r.Weight, r.Detail)
	}
	tw.Flush()
	// The same in the words an investigator reads in the partner API.
	var received time.Time
	if len(e.Referrals) > 0 {
		received = e.Referrals[0].ReceivedAt
	}
	fmt.Fprintln(w, "\nIn words")
	for _, s := range guardian.ExplainJurisdictionAt(a, received) {
		fmt.Fprintf(w, "  %s\n", s)
	}
	for _, s := range guardian.ExplainTriage(t) {
		fmt.Fprintf(w, "  %s\n", s)
	}
	fmt.Fprintln(w, "\nReferrals")
	if len(e.Referrals) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, r := range e.Referrals {
		held := ""
		if r.HeldForConfirmation {
			held = ", held for an analyst's confirmation"
		}
		countries := strings.Join(r.Countries, ",")
		if countries == "" {
			countries = "-"
		}
		fmt.Fprintf(w, "  %s  %s (%s)%s\n    countries %s  channel %s  priority %s  handling %s  scope %s\n    routed %s  acknowledge by %s  network %.12s\n",
			r.AgencyID, r.State, r.Reason, held, countries, r.Channel, r.Priority, r.HandlingCode, r.DataScope,
			r.RoutedAt.Format(time.RFC3339), r.Deadline.Format(time.RFC3339), r.Network)
	}
	writeFiles(w, e.Files, e.Matches, t.Known)
	writeBundle(w, e.Bundle)
	fmt.Fprintln(w, "\nAnalysts' queue")
	switch q := e.Queue; {
	case q == nil:
		fmt.Fprintln(w, "  not queued")
	case q.ResolvedAt != nil:
		fmt.Fprintf(w, "  resolved %s (queued %s: %s)\n", q.ResolvedAt.Format(time.RFC3339), q.Since.Format(time.RFC3339), q.Reason)
	default:
		fmt.Fprintf(w, "  waiting since %s: %s\n", q.Since.Format(time.RFC3339), q.Reason)
	}
}

// fileHashes returns the hashes of f to look up in the hash lists.
func fileHashes(f *guardian.File) []guardian.HashListEntry {
	h := []guardian.HashListEntry{{Type: guardian.HashMD5, Hash: f.MD5}, {Type: guardian.HashSHA1, Hash: f.SHA1},
		{Type: guardian.HashSHA256, Hash: f.SHA256}}
	if f.PDQ != "" {
		h = append(h, guardian.HashListEntry{Type: guardian.HashPDQ, Hash: f.PDQ})
	}
	return h
}

// writeFiles prints the files of a report: their digests, their PDQ hash or
// why they have none, their exact matches in the hash lists now, and the
// matches triage used (known, nil if triaged without the lists).
func writeFiles(w io.Writer, files []*guardian.File, matches map[string][]guardian.HashMatch, known *guardian.KnownContent) {
	fmt.Fprintln(w, "\nFiles")
	switch {
	case known == nil:
		fmt.Fprintln(w, "  triaged without the hash lists")
	default:
		fmt.Fprintf(w, "  triaged against %d hash lists (PDQ distance up to %d): %d of %d files matched",
			known.Lists, known.MaxDistance, len(known.MatchedFiles()), known.Files)
		if known.Omitted > 0 {
			fmt.Fprintf(w, " (%d more distant matches not kept)", known.Omitted)
		}
		fmt.Fprintln(w)
	}
	if len(files) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, f := range files {
		fmt.Fprintf(w, "  %s  %d bytes  uploaded %s\n    md5 %s  sha1 %s\n    sha256 %s\n",
			f.ID, f.Size, f.UploadedAt.Format(time.RFC3339), f.MD5, f.SHA1, f.SHA256)
		switch {
		case f.ImageStatus == guardian.ImageHashed && f.PDQQuality != nil:
			fmt.Fprintf(w, "    pdq %s  quality %d\n", f.PDQ, *f.PDQQuality)
		case f.ImageStatus == "":
			fmt.Fprintln(w, "    image not examined (uploaded before images were hashed)")
		default:
			fmt.Fprintf(w, "    image %s\n", f.ImageStatus)
		}
		for _, m := range matches[f.ID] {
			fmt.Fprintf(w, "    in hash list %s (version %s): %s, category %s\n", m.List, m.ListVersion, m.Type, orDash(m.Category))
		}
		if known == nil {
			continue
		}
		for _, m := range known.Matches {
			if m.FileID != f.ID {
				continue
			}
			how := "exact " + string(m.Type)
			if m.Type == guardian.HashPDQ {
				how = fmt.Sprintf("pdq distance %d", m.Distance)
				if m.Variant != "" {
					how += " (" + m.Variant + ")"
				}
			}
			fmt.Fprintf(w, "    at triage in hash list %s (version %s): %s, category %s, item %s\n", m.List, m.ListVersion, how, orDash(m.Category), m.Hash)
		}
	}
}

// writeBundle prints the other reports that share a list item with the
// report.
func writeBundle(w io.Writer, b *guardian.HashBundle) {
	fmt.Fprintln(w, "\nBundle (reports whose files match the same list items)")
	if b == nil || b.Reports == 0 {
		fmt.Fprintln(w, "  none")
		return
	}
	var ids []int64
	items := map[int64][]string{}
	for _, m := range b.Members {
		if len(items[m.ReportID]) == 0 {
			ids = append(ids, m.ReportID)
		}
		items[m.ReportID] = append(items[m.ReportID], string(m.Type)+" "+m.Hash)
	}
	fmt.Fprintf(w, "  %d other reports", b.Reports)
	if len(ids) < b.Reports {
		fmt.Fprintf(w, " (the %d most recent shown)", len(ids))
	}
	fmt.Fprintln(w)
	for _, id := range ids {
		fmt.Fprintf(w, "  report %d: %s\n", id, strings.Join(items[id], ", "))
	}
}
