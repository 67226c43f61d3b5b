package web

func (h *Handler) hubRoutes() []route { return nil }
