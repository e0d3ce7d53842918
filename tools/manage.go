package tools

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/store"
)

// Manager is the management of tools shared by the API and by the CLI
// working on the data directory: declarations validated, secrets kept
// and masked, test calls.
type Manager struct {
	st   *store.Store
	step *Step
}

// NewManager manages the tools of st; step makes test calls.
func NewManager(st *store.Store, step *Step) *Manager { return &Manager{st: st, step: step} }

// List is every tool, masked, by name.
func (m *Manager) List() ([]Tool, error) {
	recs, err := m.st.Tools()
	if err != nil {
		return nil, fmt.Errorf("list tools: %w", err)
	}
	out := make([]Tool, 0, len(recs))
	for _, rec := range recs {
		t, err := FromRecord(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, t.Masked())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Get is the tool called name, masked.
func (m *Manager) Get(name string) (Tool, error) {
	t, err := m.get(name)
	return t.Masked(), err
}

func (m *Manager) get(name string) (Tool, error) {
	rec, err := m.st.ToolByName(name)
	if errors.Is(err, store.ErrNotFound) {
		return Tool{}, &apperr.Error{Code: apperr.NotFound, Message: fmt.Sprintf("no tool named %q; chatbot tool list shows them", name), Err: err}
	}
	if err != nil {
		return Tool{}, err
	}
	return FromRecord(rec)
}

// Create validates and stores a new tool.
func (m *Manager) Create(t Tool) (Tool, error) {
	c, err := Compile(t)
	if err != nil {
		return Tool{}, err
	}
	rec, err := ToRecord(c.Tool)
	if err != nil {
		return Tool{}, err
	}
	if err := m.st.CreateTool(rec); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Tool{}, &apperr.Error{Code: apperr.Conflict, Field: "name", Message: fmt.Sprintf("name: a tool named %q exists; choose another name or replace it", t.Name)}
		}
		return Tool{}, err
	}
	out, err := FromRecord(rec)
	return out.Masked(), err
}

// Replace validates t and stores it in place of the tool called name. An
// empty or masked ("****...") secret keeps the stored one.
func (m *Manager) Replace(name string, t Tool) (Tool, error) {
	old, err := m.get(name)
	if err != nil {
		return Tool{}, err
	}
	if t.Auth.Secret == "" || strings.HasPrefix(t.Auth.Secret, "****") {
		t.Auth.Secret = old.Auth.Secret
	}
	c, err := Compile(t)
	if err != nil {
		return Tool{}, err
	}
	c.ID = old.ID
	next, err := ToRecord(c.Tool)
	if err != nil {
		return Tool{}, err
	}
	rec, err := m.st.UpdateTool(old.ID, func(r *store.ToolRecord) error {
		r.Name, r.Spec, r.Secret = next.Name, next.Spec, next.Secret
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return Tool{}, &apperr.Error{Code: apperr.Conflict, Field: "name", Message: fmt.Sprintf("name: a tool named %q exists", t.Name)}
	}
	if err != nil {
		return Tool{}, err
	}
	out, err := FromRecord(rec)
	return out.Masked(), err
}

// Delete removes the tool called name.
func (m *Manager) Delete(name string) error {
	t, err := m.get(name)
	if err != nil {
		return err
	}
	return m.st.DeleteTool(t.ID)
}

// Calls are the recent recorded calls, newest first.
func (m *Manager) Calls(limit int) ([]store.ToolCall, error) { return m.st.ToolCalls(limit) }

// TestResult is what a test call gave: what the user would see, the raw
// status and the time taken.
type TestResult struct {
	Answer       string             `json:"answer"`
	ResponseType store.ResponseType `json:"response_type"`
	Outcome      string             `json:"outcome"`
	Status       int                `json:"status"`
	LatencyMS    int64              `json:"latency_ms"`
	Error        string             `json:"error,omitempty"`
}

// Test makes the real call of the tool called name with params, as the
// user asUser of the CLI (identity values other than user_id are empty).
// A parameter that fails its pattern is an error naming it; a missing
// required one gives the question the user would be asked.
func (m *Manager) Test(ctx context.Context, name string, params map[string]string, asUser string) (TestResult, error) {
	t, err := m.get(name)
	if err != nil {
		return TestResult{}, err
	}
	c, err := Compile(t)
	if err != nil {
		return TestResult{}, err
	}
	for k, v := range params {
		if _, ok := c.Param(k); !ok {
			return TestResult{}, apperr.Invalidf("params."+k, "params.%s: the tool declares no parameter %q", k, k)
		}
		if !c.ValidValue(k, v) {
			return TestResult{}, apperr.Invalidf("params."+k, "params.%s: %q does not match the parameter's pattern %q", k, v, c.patternText(k))
		}
	}
	if p, ok := c.missing(params); ok {
		return TestResult{Answer: c.askFor(p), ResponseType: chat.TypeAPITool, Outcome: "asked"}, nil
	}
	start := time.Now()
	req := chat.Request{Platform: "cli", UserID: asUser, Username: asUser}
	r, res := m.step.call(ctx, req, c, params)
	out := TestResult{Answer: r.Answer, ResponseType: r.Type, Outcome: res.Outcome, Status: res.Status,
		LatencyMS: max(res.Latency, time.Since(start)).Milliseconds()}
	if res.Err != nil {
		out.Error = res.Err.Error()
	}
	return out, nil
}

func (c *Compiled) patternText(name string) string {
	p, _ := c.Param(name)
	return p.Pattern
}
