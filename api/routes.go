package api

import (
	_ "embed"
	"net/http"
	"strconv"
)

// openAPI is the API's contract, served as it is.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 document of the API.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// routes is the API's one route table, relative to Prefix. The OpenAPI
// document lists exactly these (a test holds them together).
func (h *Handler) routes() []route {
	return []route{
		{"GET", "/openapi.json", authNone, h.handleOpenAPI},

		{"POST", "/session", authSignIn, h.handleSignIn},
		{"DELETE", "/session", authPerson, h.handleSignOut},
		{"GET", "/me", authCaller, h.handleMe},

		{"GET", "/referrals", authCaller, h.handleList},
		{"GET", "/referrals/{id}", authCaller, h.handleGet},
		{"POST", "/referrals/{id}/acknowledge", authCaller, h.handleAcknowledge},
		{"POST", "/referrals/{id}/assign", authCaller, h.handleAssign},
		{"POST", "/referrals/{id}/decline", authCaller, h.handleDecline},
		{"POST", "/referrals/{id}/outcome", authCaller, h.handleOutcome},
		{"GET", "/referrals/{id}/messages", authCaller, h.handleMessages},
		{"POST", "/referrals/{id}/messages", authCaller, h.handleSendMessage},

		{"GET", "/referrals/{id}/content", authCaller, h.handleContent},
		{"GET", "/referrals/{id}/files", authCaller, h.handleFiles},
		{"GET", "/referrals/{id}/files/{fileId}", authCaller, h.handleFile},
		{"POST", "/referrals/{id}/legal-authority", authCaller, h.handleLegalAuthority},
		{"GET", "/referrals/{id}/package", authCaller, h.handlePackage},

		{"GET", "/hub/queue", authCaller, h.handleQueue},
		{"POST", "/referrals/{id}/confirm", authCaller, h.handleConfirm},
		{"POST", "/reports/{id}/priority", authCaller, h.handlePriority},
		{"POST", "/reports/{id}/agencies", authCaller, h.handleAgencies},
		{"POST", "/reports/{id}/resolve", authCaller, h.handleResolve},
		{"GET", "/hub/board", authCaller, h.handleBoard},
	}
}

func (h *Handler) handleOpenAPI(w http.ResponseWriter, r *http.Request, c *Call) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(openAPI)))
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPI)
	return nil
}

// Routes returns the API's routes as "METHOD /path", relative to Prefix,
// for the test that holds them and the OpenAPI document together.
func Routes() []string {
	var h Handler
	var out []string
	for _, rt := range h.routes() {
		out = append(out, rt.method+" "+rt.path)
	}
	return out
}
