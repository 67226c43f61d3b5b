package web

// passkeysOn reports whether passkeys can be used: a store and a relying
// party are set.
func (h *Handler) passkeysOn() bool { return h.Passkeys != nil && h.RelyingParty() != nil }

func (h *Handler) passkeyRoutes() []route { return nil }
