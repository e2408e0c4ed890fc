package store

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"
)

// A campaign's state, contacts (duplicates left as they were), attempts and
// skips are kept and counted; the do-not-call list is kept and edited.
func TestCampaignData(t *testing.T) {
	s, err := New(testOptions(t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	if r, err := s.CampaignRun(ctx, "renewals"); err != nil || r.State != CampaignStopped {
		t.Fatalf("never run: %+v %v", r, err)
	}
	if err := s.SetCampaignRun(ctx, "renewals", CampaignRun{State: CampaignRunning, At: at, Actor: "sup"}); err != nil {
		t.Fatal(err)
	}
	if r, err := s.CampaignRun(ctx, "renewals"); err != nil || r.State != CampaignRunning || r.Actor != "sup" || !r.At.Equal(at) {
		t.Fatalf("running: %+v %v", r, err)
	}
	added, dups, err := s.AddContacts(ctx, "renewals", []CampaignContact{
		{Number: "5550001", Fields: map[string]string{"name": "Ann"}, AddedAt: at},
		{Number: "5550002", Zone: "America/Chicago", Fields: map[string]string{}, AddedAt: at},
	})
	if err != nil || added != 2 || len(dups) != 0 {
		t.Fatalf("add: %d %v %v", added, dups, err)
	}
	added, dups, err = s.AddContacts(ctx, "renewals", []CampaignContact{{Number: "5550002", Fields: map[string]string{"name": "Bob"}, AddedAt: at}, {Number: "5550003", AddedAt: at}})
	if err != nil || added != 1 || len(dups) != 1 || dups[0] != "5550002" {
		t.Fatalf("add again: %d %v %v", added, dups, err)
	}
	if _, _, err := s.AddContacts(ctx, "other", []CampaignContact{{Number: "5550001", AddedAt: at}}); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Contacts(ctx, "renewals", 0, 10)
	if err != nil || len(cs) != 3 || cs[0].Fields["name"] != "Ann" || cs[1].Zone != "America/Chicago" || cs[1].Fields["name"] != "" || cs[2].State != ContactPending {
		t.Fatalf("contacts: %+v %v", cs, err)
	}
	for _, a := range []Attempt{
		{Campaign: "renewals", Number: "5550001", CallID: "c1", At: at, Outcome: "human", AMD: "human", Live: true, Agent: "1001"},
		{Campaign: "renewals", Number: "5550002", CallID: "c2", At: at, Outcome: "human", AMD: "human", Live: true, Dropped: true},
		{Campaign: "renewals", Number: "5550003", CallID: "c3", At: at, Outcome: "machine", AMD: "machine"},
		{Campaign: "renewals", Number: "5559999", At: at, Skip: "dnc"},
		{Campaign: "renewals", Number: "5550003", At: at, Skip: "window"},
		{Campaign: "renewals", Number: "5550001", CallID: "old", At: at.Add(-time.Hour), Outcome: "busy"},
		{Campaign: "other", Number: "5550001", CallID: "c4", At: at, Outcome: "human", Live: true, Dropped: true},
	} {
		if err := s.RecordAttempt(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.CampaignCounts(ctx, "renewals", at.Add(-time.Minute))
	if err != nil || c.Contacts != 3 || c.Pending != 3 || c.Attempts != 3 || c.Live != 2 || c.Connected != 1 || c.Machines != 1 ||
		c.Abandoned != 1 || c.DNCSkipped != 1 || c.Skipped["window"] != 1 {
		t.Fatalf("counts: %+v %v", c, err)
	}
	if all, err := s.CampaignCounts(ctx, "", at.Add(-2*time.Hour)); err != nil || all.Attempts != 5 || all.Live != 3 || all.Abandoned != 2 {
		t.Fatalf("every campaign: %+v %v", all, err)
	}
	for _, n := range []string{"5551234", "1800*"} {
		if err := s.AddDNC(ctx, DNCEntry{Number: n, List: "internal", At: at, Actor: "admin"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddDNC(ctx, DNCEntry{Number: "5551234", List: "import", At: at, Actor: "sup"}); err != nil {
		t.Fatal(err)
	}
	if some, err := s.DNC(ctx, "import", 0, 10); err != nil || len(some) != 1 || some[0].Number != "5551234" {
		t.Fatalf("one list: %+v %v", some, err)
	}
	if page, _ := s.DNC(ctx, "", 1, 1); len(page) != 1 || page[0].List != "import" {
		t.Fatalf("a page: %+v", page)
	}
	list, err := s.DNC(ctx, "", 0, 100) // a number on two lists, once each
	if err != nil || len(list) != 3 || list[0].Number != "1800*" || list[1].List != "import" || list[1].Actor != "sup" || list[2].List != "internal" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if found, err := s.RemoveDNC(ctx, "5551234"); err != nil || !found {
		t.Fatalf("remove: %v %v", found, err)
	}
	if found, err := s.RemoveDNC(ctx, "5551234"); err != nil || found {
		t.Fatalf("remove again: %v %v", found, err)
	}
	if list, ok, _ := s.DNCMatch(ctx, "5551234"); !ok || list != "import" {
		t.Fatalf("the imported entry went with the internal one: %q %v", list, ok)
	}
}

// Due contacts come in order; a contact's update is kept; dialling ones
// are pending again after a restart; the do-not-call list matches
// numbers and prefixes.
func TestCampaignDialling(t *testing.T) {
	s, err := New(testOptions(t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	if _, _, err := s.AddContacts(ctx, "k", []CampaignContact{{Number: "1", AddedAt: at}, {Number: "2", AddedAt: at.Add(time.Second)}, {Number: "3", AddedAt: at}}); err != nil {
		t.Fatal(err)
	}
	due, err := s.DueContacts(ctx, "k", at, 10)
	if err != nil || len(due) != 3 || due[0].Number != "1" || due[1].Number != "3" || due[2].Number != "2" {
		t.Fatalf("due: %+v %v", due, err)
	}
	if err := s.UpdateContact(ctx, "k", CampaignContact{Number: "1", State: ContactPending, Attempts: 1, NextAt: at.Add(time.Hour), LastOutcome: "busy"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ClaimContact(ctx, "k", "3", 1); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if ok, err := s.ClaimContact(ctx, "k", "3", 1); err != nil || ok {
		t.Fatalf("claimed twice: %v %v", ok, err)
	}
	if due, err := s.DueContacts(ctx, "k", at, 10); err != nil || len(due) != 1 || due[0].Number != "2" {
		t.Fatalf("due after updates: %+v %v", due, err)
	}
	if due, err := s.DueContacts(ctx, "k", at.Add(time.Hour), 10); err != nil || len(due) != 2 || due[0].Number != "2" || due[1].Number != "1" {
		t.Fatalf("due an hour later: %+v %v", due, err)
	}
	if c, ok, err := s.Contact(ctx, "k", "1"); err != nil || !ok || c.LastOutcome != "busy" || c.Attempts != 1 || !c.NextAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("contact: %+v %v %v", c, ok, err)
	}
	if n, err := s.ResetDialing(ctx); err != nil || n != 1 {
		t.Fatalf("reset: %d %v", n, err)
	}
	if c, _, _ := s.Contact(ctx, "k", "3"); c.State != ContactPending || c.Attempts != 1 {
		t.Fatalf("reset contact: %+v", c)
	}
	for _, n := range []string{"5551234", "44207*"} {
		if err := s.AddDNC(ctx, DNCEntry{Number: n, List: "internal", At: at}); err != nil {
			t.Fatal(err)
		}
	}
	for number, want := range map[string]bool{"5551234": true, "55512345": false, "442079460001": true, "44208": false, "4420": false} {
		if _, got, err := s.DNCMatch(ctx, number); err != nil || got != want {
			t.Errorf("DNCMatch(%s) = %v %v", number, got, err)
		}
	}
}

// A preview campaign's contact is held by the agent who previews it until
// they dial it, skip it, or it is given back (they logged out or went
// away); once given back, their dial or skip of it is refused.
func TestPreviewHolds(t *testing.T) {
	s, err := New(testOptions(t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	if _, _, err := s.AddContacts(ctx, "p", []CampaignContact{{Number: "1", AddedAt: at}, {Number: "2", AddedAt: at.Add(time.Second)}}); err != nil {
		t.Fatal(err)
	}
	all := func(CampaignContact) bool { return true }
	held, ok, err := s.PreviewContact(ctx, "p", "1001", at, all)
	if err != nil || !ok || held.Number != "1" {
		t.Fatalf("preview: %+v %v %v", held, ok, err)
	}
	if again, _, _ := s.PreviewContact(ctx, "p", "1001", at, all); again.Number != "1" {
		t.Fatalf("the held contact again: %+v", again)
	}
	if other, _, _ := s.PreviewContact(ctx, "p", "1002", at, all); other.Number != "2" {
		t.Fatalf("another agent's: %+v", other)
	}
	if agents, err := s.PreviewsHeld(ctx, "p"); err != nil || len(agents) != 2 {
		t.Fatalf("held by %v %v", agents, err)
	}
	dial := held
	dial.State, dial.Attempts = ContactDialing, 1
	if took, err := s.TakePreview(ctx, "p", "1002", dial); err != nil || took {
		t.Fatalf("1002 took 1001's contact: %v %v", took, err)
	}
	if n, err := s.ReleasePreviews(ctx, "p", "1001"); err != nil || n != 1 {
		t.Fatalf("release: %d %v", n, err)
	}
	if took, err := s.TakePreview(ctx, "p", "1001", dial); err != nil || took {
		t.Fatalf("a contact given back was dialled: %v %v", took, err)
	}
	if held, ok, _ := s.PreviewContact(ctx, "p", "1001", at, all); !ok || held.Number != "1" {
		t.Fatalf("previewed again: %+v %v", held, ok)
	}
	if took, err := s.TakePreview(ctx, "p", "1001", dial); err != nil || !took {
		t.Fatalf("dial the held contact: %v %v", took, err)
	}
	if c, _, _ := s.Contact(ctx, "p", "1"); c.State != ContactDialing || c.Attempts != 1 {
		t.Fatalf("after the dial: %+v", c)
	}
}

// An imported do-not-call list blocks its numbers and prefixes under its
// name; an entry on another list stays there; replace starts it again.
func TestImportDNC(t *testing.T) {
	s, err := New(testOptions(t), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	if err := s.AddDNC(ctx, DNCEntry{Number: "5551000", List: "internal", At: at, Actor: "x"}); err != nil {
		t.Fatal(err)
	}
	many := []string{"5551000", "5552000", "555300*"}
	for i := range 1200 { // more than a statement's batch
		many = append(many, fmt.Sprint(6000000+i))
	}
	if n, err := s.ImportDNC(ctx, "national", many, false, at, "admin"); err != nil || n != 1203 {
		t.Fatalf("import: %d %v", n, err)
	}
	for number, want := range map[string]string{"5552000": "national", "5553001": "national", "6001199": "national", "5554000": ""} {
		list, ok, err := s.DNCMatch(ctx, number)
		if err != nil || ok != (want != "") || list != want {
			t.Errorf("DNCMatch(%s) = %q %v %v, want %q", number, list, ok, err, want)
		}
	}
	// On both lists: taken off the internal one, the registry still blocks it.
	if found, err := s.RemoveDNC(ctx, "5551000"); err != nil || !found {
		t.Fatalf("remove the internal entry: %v %v", found, err)
	}
	if list, ok, _ := s.DNCMatch(ctx, "5551000"); !ok || list != "national" {
		t.Fatalf("the registry's entry went with the internal one: %q %v", list, ok)
	}
	if found, _ := s.RemoveDNC(ctx, "5552000"); found {
		t.Fatal("an imported entry removed as an internal one")
	}
	if err := s.AddDNC(ctx, DNCEntry{Number: "5551000", List: "internal", At: at, Actor: "x"}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ImportDNC(ctx, "national", []string{"5559999"}, true, at, "admin"); err != nil || n != 1 {
		t.Fatalf("replace: %d %v", n, err)
	}
	if _, ok, _ := s.DNCMatch(ctx, "5552000"); ok {
		t.Fatal("an entry of the replaced list still blocks")
	}
	if list, ok, _ := s.DNCMatch(ctx, "5551000"); !ok || list != "internal" {
		t.Fatalf("replacing the registry took the internal entry: %q %v", list, ok)
	}
	if lists, err := s.DNCLists(ctx); err != nil || len(lists) != 2 || lists[1] != (DNCList{List: "national", Entries: 1}) {
		t.Fatalf("lists: %+v %v", lists, err)
	}
	if n, err := s.RemoveDNCList(ctx, "national"); err != nil || n != 1 {
		t.Fatalf("remove: %d %v", n, err)
	}
}
