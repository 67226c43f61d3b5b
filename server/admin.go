package server

import (
	"context"
	"net/http"
	"strconv"

	"github.com/guardian-network/guardian"
)

// ReloadFunc re-reads the network file on behalf of actor, records the
// attempt in the audit log, and returns the digest of the network in force
// afterwards. A file with problems leaves the old network in force and is
// an EINVALID error.
type ReloadFunc func(ctx context.Context, actor guardian.Actor) (digest string, changed bool, err error)

// handleNetworkReload serves POST /admin/network/reload for admin tokens.
func (s *Server) handleNetworkReload(w http.ResponseWriter, r *http.Request) {
	tok, err := s.requireToken(r, guardian.RoleAdmin)
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	actor := guardian.Actor{Kind: guardian.ActorUser, ID: "token:" + strconv.FormatInt(tok.ID, 10), Name: tok.Name}
	digest, changed, err := s.ReloadNetwork(r.Context(), actor)
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"network": digest, "changed": changed})
}
