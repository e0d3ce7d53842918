package webhook

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/httpapi"
)

type configList struct {
	Success bool         `json:"success"`
	Configs []ConfigView `json:"configs"`
}

type configOne struct {
	Success bool       `json:"success"`
	Config  ConfigView `json:"config"`
}

func (h *Handler) listConfigs(w http.ResponseWriter, r *http.Request) {
	list, err := h.configs.List()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, configList{Success: true, Configs: list})
}

func (h *Handler) createConfig(w http.ResponseWriter, r *http.Request) {
	var in ConfigInput
	if err := httpapi.Decode(w, r, httpapi.DefaultBodyLimit, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.configs.Create(in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "webhook config created", "config_id", v.ID, "provider", v.Provider)
	httpapi.WriteJSON(w, http.StatusCreated, configOne{Success: true, Config: v})
}

func (h *Handler) getConfig(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.configs.Get(id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, configOne{Success: true, Config: v})
}

func (h *Handler) updateConfig(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var in ConfigInput
	if err := httpapi.Decode(w, r, httpapi.DefaultBodyLimit, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.configs.Update(id, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, configOne{Success: true, Config: v})
}

func (h *Handler) deleteConfig(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.configs.Delete(id); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "webhook config deleted", "config_id", id)
	httpapi.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// pathID parses the {id} route variable.
func pathID(r *http.Request) (uint64, error) {
	raw := mux.Vars(r)["id"]
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || id == 0 {
		return 0, apperr.Invalidf("id", "id must be a positive integer, not %q", raw)
	}
	return id, nil
}
