package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os/user"
	"strconv"
	"strings"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/hub"
	"github.com/guardian-network/guardian/sqlstore"
)

// ReportCommand inspects stored reports.
type ReportCommand struct {
	Stdout, Stderr io.Writer
	Store          StoreConfig
	MasterKeyFile  string // default master.key in --data
}

// registerMasterKey adds --master-key-file to fs, for a command that reads
// report documents, which are encrypted under the master key.
func registerMasterKey(fs *flag.FlagSet, file *string) {
	fs.StringVar(file, "master-key-file", "", "master key file, which report documents are encrypted under; default master.key in --data (GUARDIAN_MASTER_KEY_FILE)")
}

// openWithMasterKey opens the store for a command that reads report
// documents: with the master key (which it never creates), so that the
// store opens them.
func openWithMasterKey(ctx context.Context, c StoreConfig, keyFile string, logger *slog.Logger) (*sqlstore.Store, error) {
	mk, err := hub.LoadMasterKey(keyFile, c.Data)
	if err != nil {
		return nil, err
	}
	return c.hub().Open(ctx, sqlstore.Options{Logger: logger, Sealer: crypto.NewDocumentSealer(mk)})
}

// reportView is what "report show" prints: the stored report and the audit
// events that concern it.
type reportView struct {
	*guardian.Report
	Events []*guardian.AuditEvent `json:"events"`
}

// operatorName names the person at the command line, as the operating
// system knows them.
func operatorName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "os:" + u.Username
	}
	return "os:unknown"
}

// Run handles "report show ID".
func (c *ReportCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "show" {
		return usageError{cmd: "report", msg: "usage: guardian report show ID"}
	}
	fs := flag.NewFlagSet("guardian report show", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	c.Store.register(fs)
	registerMasterKey(fs, &c.MasterKeyFile)
	justification := fs.String("justification", "", "why you are reading this report (required; recorded in the audit log)")
	pos, err := parseFlagsAndArgs(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{cmd: "report", msg: "usage: guardian report show ID"}
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return usageError{cmd: "report", msg: fmt.Sprintf("%q is not a report id", pos[0])}
	}
	if strings.TrimSpace(*justification) == "" {
		return usageError{cmd: "report", msg: "reading a report needs --justification \"why\" (it is recorded in the audit log)"}
	}

	store, err := openWithMasterKey(ctx, c.Store, c.MasterKeyFile, stderrLogger(c.Stderr))
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()

	r, err := store.FindReportByID(ctx, id)
	if guardian.ErrorCode(err) == guardian.EREPORTNOTFOUND {
		return fmt.Errorf("report %d does not exist", id)
	} else if err != nil {
		return fmt.Errorf("find report: %w", err)
	}
	// Reading a report from the command line is a person's consultation
	// like any other: it needs a justification and is recorded before the
	// content is shown.
	ev := &guardian.AuditEvent{
		Actor:         guardian.Actor{Kind: guardian.ActorUser, Name: operatorName()},
		Justification: *justification,
		Category:      guardian.CategoryConsultation,
		Action:        "report.show",
		ObjectKind:    "report",
		ObjectID:      strconv.FormatInt(id, 10),
		ReportID:      id,
		Outcome:       guardian.OutcomeSuccess,
	}
	if err := store.AppendAuditEvent(ctx, ev); err != nil {
		return fmt.Errorf("record consultation: %w", err)
	}
	var events []*guardian.AuditEvent
	for after := int64(0); ; {
		page, err := store.FindAuditEvents(ctx, guardian.AuditFilter{ReportID: id, AfterID: after, Limit: 1000})
		if err != nil {
			return fmt.Errorf("find audit events: %w", err)
		}
		if len(page) == 0 {
			break
		}
		events = append(events, page...)
		after = page[len(page)-1].ID
	}
	enc := json.NewEncoder(c.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(reportView{Report: r, Events: events})
}
