package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/internal/outbound"
	"github.com/switchboard/switchboard/internal/store"
)

// maxContactsBytes bounds one contact list import.
const maxContactsBytes = 64 << 20

// CampaignStatus is a campaign's state and figures.
type CampaignStatus struct {
	Name  string `json:"name"`
	Mode  string `json:"mode"`
	Queue string `json:"queue"`
	State string `json:"state"`
	store.CampaignCounts
	// AbandonRate is the share of live answers dropped over the campaign;
	// AbandonRate30d over the last 30 days of every campaign.
	AbandonRate    float64 `json:"abandon_rate"`
	AbandonRate30d float64 `json:"abandon_rate_30d"`
	// Lines is the calls dialling or connected now.
	Lines int `json:"lines"`
}

// ContactImport is what an import of a contact list did.
type ContactImport struct {
	Added int `json:"added"`
	// Duplicates are numbers the list had already (left as they were).
	Duplicates []string `json:"duplicates"`
	// Rejected are rows not taken, with why.
	Rejected []outbound.RowError `json:"rejected"`
	Fields   []string            `json:"fields"`
}

// Campaigns runs the outbound campaigns.
type Campaigns interface {
	List(ctx context.Context) ([]CampaignStatus, error)
	Status(ctx context.Context, name string) (CampaignStatus, error)
	// Import adds a CSV list's contacts; mapping renames its columns.
	Import(ctx context.Context, name string, csv io.Reader, mapping map[string]string, by string) (ContactImport, error)
	Contacts(ctx context.Context, name string, offset, limit int) ([]store.CampaignContact, error)
	// SetState starts (running), pauses or stops a campaign.
	SetState(ctx context.Context, name, state, by string) (CampaignStatus, error)
	AddDNC(ctx context.Context, entry, by string) (store.DNCEntry, error)
	RemoveDNC(ctx context.Context, entry, by string) (bool, error)
	DNC(ctx context.Context) ([]store.DNCEntry, error)
}

// Errors of Campaigns: no such campaign (404), a list that cannot be read
// or a number that is none (422).
var (
	ErrNoCampaign  = errors.New("no such campaign")
	ErrBadContacts = errors.New("the contact list cannot be read")
	ErrBadNumber   = errors.New("not a phone number")
)

// ServeCampaigns serves /api/v1/campaigns (the campaigns themselves are
// created and edited as part of the setup: POST /api/v1/campaigns is the
// setup's campaigns collection) and /api/v1/dnc.
func (s *Server) ServeCampaigns(c Campaigns) {
	fail := func(w http.ResponseWriter, err error, what string) {
		switch {
		case errors.Is(err, ErrNoCampaign):
			writeError(w, 404, err.Error())
		case errors.Is(err, ErrBadContacts), errors.Is(err, ErrBadNumber):
			writeJSON(w, 422, map[string]any{"errors": []string{err.Error()}})
		default:
			s.log.Error("api: "+what, "err", err)
			writeError(w, 500, "could not "+what)
		}
	}
	s.handle("GET /api/v1/campaigns", func(w http.ResponseWriter, r *http.Request) {
		list, err := c.List(r.Context())
		if err != nil {
			fail(w, err, "list the campaigns")
			return
		}
		writeJSON(w, 200, map[string]any{"campaigns": list})
	}, staff())
	s.handle("GET /api/v1/campaigns/{name}", func(w http.ResponseWriter, r *http.Request) {
		st, err := c.Status(r.Context(), r.PathValue("name"))
		if err != nil {
			fail(w, err, "read the campaign")
			return
		}
		writeJSON(w, 200, st)
	}, staff())
	for _, action := range []struct{ path, state string }{{"start", store.CampaignRunning}, {"pause", store.CampaignPaused}, {"stop", store.CampaignStopped}} {
		s.handle("POST /api/v1/campaigns/{name}/"+action.path, func(w http.ResponseWriter, r *http.Request) {
			st, err := c.SetState(r.Context(), r.PathValue("name"), action.state, who(r).name)
			if err != nil {
				fail(w, err, action.path+" the campaign")
				return
			}
			writeJSON(w, 200, st)
		}, staff())
	}
	s.handle("POST /api/v1/campaigns/{name}/contacts", func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			writeError(w, 415, "send the contact list as text/csv (a header row naming at least number)")
			return
		}
		// ?map=Phone:number,Zone:timezone renames the list's columns
		mapping := map[string]string{}
		if m := r.URL.Query().Get("map"); m != "" {
			for _, pair := range strings.Split(m, ",") {
				from, to, ok := strings.Cut(pair, ":")
				if !ok || from == "" || to == "" {
					writeJSON(w, 422, map[string]any{"errors": []string{fmt.Sprintf("map: %q is not column:field", pair)}})
					return
				}
				mapping[from] = to
			}
		}
		res, err := c.Import(r.Context(), r.PathValue("name"), http.MaxBytesReader(w, r.Body, maxContactsBytes), mapping, who(r).name)
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, 413, fmt.Sprintf("a list must be at most %d MiB: split it", maxContactsBytes>>20))
			return
		}
		if err != nil {
			fail(w, err, "import the contacts")
			return
		}
		writeJSON(w, 200, res)
	}, staff())
	s.handle("GET /api/v1/campaigns/{name}/contacts", func(w http.ResponseWriter, r *http.Request) {
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
		if err != nil || limit <= 0 || limit > 1000 {
			limit = 100
		}
		list, err := c.Contacts(r.Context(), r.PathValue("name"), max(0, offset), limit)
		if err != nil {
			fail(w, err, "list the contacts")
			return
		}
		writeJSON(w, 200, map[string]any{"contacts": list})
	}, staff())
	s.handle("GET /api/v1/dnc", func(w http.ResponseWriter, r *http.Request) {
		list, err := c.DNC(r.Context())
		if err != nil {
			fail(w, err, "read the do-not-call list")
			return
		}
		writeJSON(w, 200, map[string]any{"numbers": list})
	}, staff())
	s.handle("POST /api/v1/dnc", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Number string `json:"number"`
		}
		if err := decodeBody(w, r, &body, 4<<10); err != nil {
			writeError(w, 400, "body: "+err.Error())
			return
		}
		e, err := c.AddDNC(r.Context(), body.Number, who(r).name)
		if err != nil {
			fail(w, err, "add to the do-not-call list")
			return
		}
		writeJSON(w, 201, e)
	}, staff())
	s.handle("DELETE /api/v1/dnc/{number}", func(w http.ResponseWriter, r *http.Request) {
		found, err := c.RemoveDNC(r.Context(), r.PathValue("number"), who(r).name)
		if err != nil {
			fail(w, err, "remove from the do-not-call list")
			return
		}
		if !found {
			writeError(w, 404, "the number is not on the do-not-call list")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}, staff())
}
