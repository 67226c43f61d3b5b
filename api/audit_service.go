package api

import (
	"context"
	"fmt"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/access"
)

// The auditors' reading of the audit log in the web pages. The log's
// events say who did what with which report; reading them is an auditor's
// right (access.ReadAuditLog) and is itself recorded, as the /audit entry
// bundles are (server/audit.go).

// AuthorizeAuditLog asks access whether the caller may read the audit
// log's events, recording a refusal.
func (h *Handler) AuthorizeAuditLog(ctx context.Context, c *Call) error {
	if _, err := c.caller.Authorize(access.Request{Action: access.ReadAuditLog}); err != nil {
		h.recordRefusal(ctx, c, access.ReadAuditLog, "audit_log", 0, err)
		return err
	}
	return nil
}

// RecordAuditRead authorizes the caller to read the audit log and records
// the read (audit.entries.read) of the object named, such as the leaves
// "0-49" or one leaf: call it once per page, before anything of the log
// is read, so that what cannot be recorded is not shown.
func (h *Handler) RecordAuditRead(ctx context.Context, c *Call, objectKind, objectID string) error {
	if err := h.AuthorizeAuditLog(ctx, c); err != nil {
		return err
	}
	ev := c.event(guardian.CategoryAuditAccess, "audit.entries.read")
	ev.ObjectKind, ev.ObjectID = objectKind, objectID
	if err := h.Store.AppendAuditEvent(context.WithoutCancel(ctx), ev); err != nil {
		return fmt.Errorf("record a read of the audit log: %w", err)
	}
	return nil
}
