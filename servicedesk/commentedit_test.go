package servicedesk_test

import (
	"slices"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/servicedesk"
)

// TestWatcherReportsCommentEdits: an agent corrects a comment's text and
// then publishes it to the employee; each edit is one comment.updated with
// what changed, its own stable id, and never comes back in the overlap.
// An edit by the integration user itself is marked Own.
func TestWatcherReportsCommentEdits(t *testing.T) {
	d := newDesk(t)
	w := d.watcher(servicedesk.WatchConfig{})
	var s sink
	id := d.create("Case", map[string]any{"Subject": "Printer jam", "Origin": "Web"})
	comment := d.create("CaseComment", map[string]any{"ParentId": id, "CommentBody": "Try turning it of and on", "IsPublished": false})
	d.clk.Advance(time.Second)
	d.cycle(w, &s)
	if got := s.types(); !slices.Equal(got, []string{"case.created", "comment.created"}) {
		t.Fatalf("after create: %v", got)
	}

	d.update("CaseComment", comment, map[string]any{"CommentBody": "Try turning it off and on"})
	d.clk.Advance(time.Second)
	d.update("CaseComment", comment, map[string]any{"IsPublished": true})
	d.clk.Advance(time.Second)
	d.cycle(w, &s)
	d.cycle(w, &s) // read again in the overlap: nothing new
	// Both edits happened before one poll: only the last version is
	// visible, and it differs from the one seen in body and visibility.
	if got := s.types(); !slices.Equal(got, []string{"case.created", "comment.created", "comment.updated"}) {
		t.Fatalf("after two edits: %v", got)
	}
	e := s.events[2]
	if e.Comment == nil || e.Comment.ID != comment || e.Comment.Body != "Try turning it off and on" || !e.Comment.Public ||
		e.Changed["CommentBody"].From != "Try turning it of and on" || e.Changed["IsPublished"].To != true ||
		e.Comment.EditedBy == nil || e.Comment.EditedBy.ID != d.agentID || e.Comment.Own || e.CaseID != id || e.CaseNumber == "" {
		t.Fatalf("comment.updated event %+v (comment %+v)", e, e.Comment)
	}
	if e.ID == s.events[1].ID {
		t.Fatalf("the edit has the id of the creation: %s", e.ID)
	}

	// An edit by the integration user, through the API: Own.
	if err := d.client.SObjects.Update(t.Context(), "CaseComment", comment, map[string]any{"CommentBody": "Fixed: the paper was stuck"}); err != nil {
		t.Fatal(err)
	}
	d.clk.Advance(time.Second)
	d.cycle(w, &s)
	if got := s.types(); len(got) != 4 || got[3] != "comment.updated" {
		t.Fatalf("after the integration's edit: %v", got)
	}
	if e := s.events[3]; !e.Comment.Own || len(e.Changed) != 1 || e.Changed["CommentBody"].To != "Fixed: the paper was stuck" {
		t.Fatalf("own edit %+v (comment %+v)", e, e.Comment)
	}
	s.assertOnce(t)

	// A restarted watcher resumes from state: the edits are not repeated.
	w2 := d.watcher(servicedesk.WatchConfig{})
	_ = w.Close(t.Context())
	var s2 sink
	d.cycle(w2, &s2)
	if len(s2.events) != 0 {
		t.Fatalf("after a restart: %v", s2.types())
	}
}
