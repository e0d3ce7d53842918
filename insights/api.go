package insights

import (
	"net/http"

	"github.com/gorilla/mux"
)

// apiRoutes mounts the insights API (admin only).
func (s *Service) apiRoutes(r *mux.Router, protect func(http.Handler) http.Handler) {}
