package web

func (h *Handler) agencyRoutes() []route { return nil }
