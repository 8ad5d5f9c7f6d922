package messaging

// A minimal Messaging for In-App and Web client written from the reference
// (salesforce-messaging.md §1–§3), independent of sfbridge's own client, to
// drive the emulator the way an outside client does.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

type miawClient struct {
	t       testing.TB
	base    string
	orgID   string
	dep     string
	hc      *http.Client
	token   string
	lastEID string
	subject string
}

func (c *miawClient) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// mustDo fails the test unless the call answers want.
func (c *miawClient) mustDo(want int, method, path string, body any) []byte {
	c.t.Helper()
	st, out := c.do(method, path, body)
	if st != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, st, want, out)
	}
	return out
}

type tokenAnswer struct {
	AccessToken string `json:"accessToken"`
	LastEventID string `json:"lastEventId"`
	Context     struct {
		EndUser struct {
			Subject string `json:"subject"`
		} `json:"endUser"`
		Configuration struct {
			EmbeddedServiceConfig struct {
				Name           string `json:"name"`
				DeploymentType string `json:"deploymentType"`
				Channel        struct {
					AuthMode string `json:"authMode"`
				} `json:"embeddedServiceMessagingChannel"`
				Forms []struct {
					FormFields []struct {
						Name     string `json:"name"`
						IsHidden bool   `json:"isHidden"`
					} `json:"formFields"`
				} `json:"forms"`
			} `json:"embeddedServiceConfig"`
		} `json:"configuration"`
	} `json:"context"`
}

func (c *miawClient) guest() tokenAnswer {
	c.t.Helper()
	out := c.mustDo(200, "POST", "/iamessage/api/v2/authorization/unauthenticated/access-token",
		map[string]any{"orgId": c.orgID, "esDeveloperName": c.dep, "capabilitiesVersion": "1", "platform": "Web"})
	return c.adopt(out)
}

func (c *miawClient) adopt(out []byte) tokenAnswer {
	var ta tokenAnswer
	if err := json.Unmarshal(out, &ta); err != nil || ta.AccessToken == "" {
		c.t.Fatalf("token answer %s: %v", out, err)
	}
	c.token, c.lastEID, c.subject = ta.AccessToken, ta.LastEventID, ta.Context.EndUser.Subject
	return ta
}

func (c *miawClient) verified(identityJWT string) (int, []byte) {
	return c.do("POST", "/iamessage/api/v2/authorization/authenticated/access-token",
		map[string]any{"orgId": c.orgID, "esDeveloperName": c.dep, "capabilitiesVersion": "1", "platform": "Web",
			"authorizationType": "JWT", "customerIdentityToken": identityJWT})
}

func (c *miawClient) create(id string, attrs map[string]string) {
	c.t.Helper()
	body := map[string]any{"conversationId": id, "esDeveloperName": c.dep}
	if attrs != nil {
		body["routingAttributes"] = attrs
	}
	st, out := c.do("POST", "/iamessage/api/v2/conversation", body)
	if st != 200 && st != 201 {
		c.t.Fatalf("create conversation: %d %s", st, out)
	}
}

func (c *miawClient) send(id, text string) (int, []byte) {
	return c.do("POST", "/iamessage/api/v2/conversation/"+id+"/message", map[string]any{
		"message": map[string]any{"id": newUUID(), "messageType": "StaticContentMessage",
			"staticContent": map[string]any{"formatType": "Text", "text": text}},
		"esDeveloperName": c.dep})
}

func (c *miawClient) routingStatus(id string) string {
	c.t.Helper()
	var rs struct {
		RoutingStatus string `json:"routingStatus"`
	}
	_ = json.Unmarshal(c.mustDo(200, "GET", "/iamessage/api/v2/conversation/"+id, nil), &rs)
	return rs.RoutingStatus
}

// frame is one parsed SSE event.
type frame struct {
	ID, Event, Data string
}

// parseFrames reads SSE frames (with or without a space after the colon)
// until r ends, sending each to f.
func parseFrames(r io.Reader, f func(frame)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var cur frame
	var data []string
	has := false
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if has {
				cur.Data = strings.Join(data, "\n")
				f(cur)
			}
			cur, data, has = frame{}, nil, false
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		name, val, _ := strings.Cut(line, ":")
		val = strings.TrimPrefix(val, " ")
		switch name {
		case "id":
			cur.ID = val
		case "event":
			cur.Event = val
		case "data":
			data = append(data, val)
		default:
			continue
		}
		has = true
	}
	return sc.Err()
}

// sse is an open event stream.
type sse struct {
	t      testing.TB
	frames chan frame
	cancel context.CancelFunc
	done   chan struct{}
	status int
	body   string
}

func (c *miawClient) openSSE(lastEventID string, hdr map[string]string) *sse {
	c.t.Helper()
	ctx, cancel := context.WithCancel(c.t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/eventrouter/v1/sse?_ts=1", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("X-Org-ID", c.orgID[:15])
	req.Header.Set("Cache-Control", "no-cache")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		cancel()
		c.t.Fatalf("open SSE: %v", err)
	}
	s := &sse{t: c.t, frames: make(chan frame, 1024), cancel: cancel, done: make(chan struct{}), status: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		s.body = string(b)
		close(s.frames)
		close(s.done)
		return s
	}
	go func() {
		defer close(s.done)
		defer close(s.frames)
		defer resp.Body.Close()
		_ = parseFrames(resp.Body, func(f frame) { s.frames <- f })
	}()
	c.t.Cleanup(s.close)
	return s
}

func (s *sse) close() {
	s.cancel()
	<-s.done
}

// next returns the next frame that is not a ping.
func (s *sse) next() frame {
	s.t.Helper()
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				s.t.Fatal("the stream ended")
			}
			if f.Event == "ping" {
				continue
			}
			return f
		case <-time.After(5 * time.Second):
			s.t.Fatal("no SSE event within 5s")
		}
	}
}

// expect reads frames until one of event name arrives, failing on any
// other non-ping event; it returns the parsed data and entryPayload.
func (s *sse) expect(name string) (envelope, map[string]any) {
	s.t.Helper()
	f := s.next()
	if f.Event != name {
		s.t.Fatalf("got event %s (%s), want %s", f.Event, f.Data, name)
	}
	var env envelope
	if err := json.Unmarshal([]byte(f.Data), &env); err != nil {
		s.t.Fatalf("data of %s: %v", name, err)
	}
	env.id = f.ID
	var p map[string]any
	if env.ConversationEntry.EntryPayload != "" {
		if err := json.Unmarshal([]byte(env.ConversationEntry.EntryPayload), &p); err != nil {
			s.t.Fatalf("entryPayload of %s is not a JSON string: %v", name, err)
		}
	}
	return env, p
}

type envelope struct {
	id                string
	ChannelType       string `json:"channelType"`
	ConversationID    string `json:"conversationId"`
	ConversationEntry struct {
		Identifier   string `json:"identifier"`
		EntryType    string `json:"entryType"`
		EntryPayload string `json:"entryPayload"`
		Sender       struct {
			Role    string `json:"role"`
			Subject string `json:"subject"`
		} `json:"sender"`
		SenderDisplayName string   `json:"senderDisplayName"`
		RelatedRecords    []string `json:"relatedRecords"`
	} `json:"conversationEntry"`
}

func messageText(tb testing.TB, p map[string]any) string {
	tb.Helper()
	am, _ := p["abstractMessage"].(map[string]any)
	sc, _ := am["staticContent"].(map[string]any)
	s, _ := sc["text"].(string)
	return s
}
