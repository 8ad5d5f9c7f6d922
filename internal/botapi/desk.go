package botapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/sfbridge/sfbridge/servicedesk"
)

// EmployeeResponse is the answer of GET …/employees.
type EmployeeResponse struct {
	Found bool `json:"found"`
	*servicedesk.Employee
}

func (a *API) getEmployee(w http.ResponseWriter, r *http.Request, o *Org) {
	if o.Employees == nil {
		writeError(w, notConfigured("employee lookup", "give the org a Salesforce connection in the daemon's config"))
		return
	}
	email := r.URL.Query().Get("email")
	if strings.TrimSpace(email) == "" {
		writeError(w, badRequest("the query parameter email is missing", "call GET /v1/orgs/{org}/employees?email=ana@example.com"))
		return
	}
	emp, err := o.Employees.Find(r.Context(), email)
	if err != nil {
		writeError(w, err)
		return
	}
	if emp.Contacts == nil {
		emp.Contacts = []servicedesk.ContactMatch{}
	}
	if emp.Users == nil {
		emp.Users = []servicedesk.UserMatch{}
	}
	writeJSON(w, http.StatusOK, EmployeeResponse{Found: emp.Found(), Employee: emp})
}

// CreateCaseRequest is the body of POST …/cases.
type CreateCaseRequest struct {
	Email       string `json:"email"`
	Subject     string `json:"subject"`
	Description string `json:"description,omitempty"`
	Priority    string `json:"priority,omitempty"`
	Origin      string `json:"origin,omitempty"`
	Assign      bool   `json:"assign,omitempty"`
	RecordType  string `json:"record_type,omitempty"`
}

// IdempotencyKeyHeader makes POST …/cases idempotent.
const IdempotencyKeyHeader = "Idempotency-Key"

// checkIdempotencyKey accepts 1–100 printable ASCII characters without
// spaces or quotes (the key is stored in a Case External ID field and
// quoted into SOQL).
func checkIdempotencyKey(k string) error {
	if len(k) == 0 || len(k) > 100 {
		return badRequest("the Idempotency-Key header must be 1 to 100 characters", "send a key such as a UUID")
	}
	for i := range len(k) {
		c := k[i]
		if c <= ' ' || c >= 0x7f || c == '\'' || c == '"' || c == '\\' {
			return badRequest("the Idempotency-Key header may hold only printable ASCII without spaces, quotes or backslashes", "send a key such as a UUID")
		}
	}
	return nil
}

func (a *API) createCase(w http.ResponseWriter, r *http.Request, o *Org) {
	if o.Cases == nil {
		writeError(w, notConfigured("case creation", "give the org a Salesforce connection in the daemon's config"))
		return
	}
	var req CreateCaseRequest
	if err := a.decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	key := r.Header.Get(IdempotencyKeyHeader)
	if _, sent := r.Header[IdempotencyKeyHeader]; sent {
		if err := checkIdempotencyKey(key); err != nil {
			writeError(w, err)
			return
		}
	}
	c, err := o.Cases.Create(r.Context(), servicedesk.NewCase{Email: req.Email, Subject: req.Subject, Description: req.Description,
		Priority: req.Priority, Origin: req.Origin, Assign: req.Assign, RecordType: req.RecordType, Key: key})
	if err != nil {
		writeError(w, err)
		return
	}
	status := http.StatusCreated
	if c.Reused {
		status = http.StatusOK
	}
	w.Header().Set("Location", "/v1/orgs/"+o.Alias+"/cases/"+c.ID)
	writeJSON(w, status, c)
}

func (a *API) getCase(w http.ResponseWriter, r *http.Request, o *Org) {
	if o.Cases == nil {
		writeError(w, notConfigured("case lookup", "give the org a Salesforce connection in the daemon's config"))
		return
	}
	d, err := o.Cases.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// CommentRequest is the body of POST …/cases/{id}/comments.
type CommentRequest struct {
	Body   string `json:"body"`
	Public bool   `json:"public"`
}

func (a *API) addComment(w http.ResponseWriter, r *http.Request, o *Org) {
	if o.Cases == nil {
		writeError(w, notConfigured("case comments", "give the org a Salesforce connection in the daemon's config"))
		return
	}
	var req CommentRequest
	if err := a.decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	c, err := o.Cases.AddComment(r.Context(), r.PathValue("id"), req.Body, req.Public)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

// SearchResponse is the answer of GET …/knowledge.
type SearchResponse struct {
	Articles []servicedesk.KnowledgeHit `json:"articles"`
}

func (a *API) searchKnowledge(w http.ResponseWriter, r *http.Request, o *Org) {
	if o.Knowledge == nil {
		writeError(w, notConfigured("knowledge", "add a knowledge section to the org in the daemon's config"))
		return
	}
	q := r.URL.Query()
	text := q.Get("q")
	if strings.TrimSpace(text) == "" {
		writeError(w, badRequest("the query parameter q is missing", "call GET /v1/orgs/{org}/knowledge?q=password"))
		return
	}
	limit := 10
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 50 {
			writeError(w, badRequest("limit must be a whole number from 1 to 50", "send limit=10"))
			return
		}
		limit = n
	}
	hits, err := o.Knowledge.Search(r.Context(), text, q.Get("language"), limit)
	if err != nil {
		writeError(w, err)
		return
	}
	if hits == nil {
		hits = []servicedesk.KnowledgeHit{}
	}
	writeJSON(w, http.StatusOK, SearchResponse{Articles: hits})
}

func (a *API) getArticle(w http.ResponseWriter, r *http.Request, o *Org) {
	if o.Knowledge == nil {
		writeError(w, notConfigured("knowledge", "add a knowledge section to the org in the daemon's config"))
		return
	}
	art, err := o.Knowledge.Get(r.Context(), r.PathValue("id"), r.URL.Query().Get("language"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, art)
}
