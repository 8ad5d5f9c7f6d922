package servicedesk

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/sfbridge/sfbridge/rest"
)

// Employees identifies employees by email among the org's Contacts and
// Users.
type Employees struct {
	Client *rest.Client
}

// ContactMatch is a Contact with the email.
type ContactMatch struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	AccountID   string `json:"account_id,omitempty"`
	AccountName string `json:"account_name,omitempty"`
	CreatedDate string `json:"created_date"`
}

// UserMatch is a User with the email.
type UserMatch struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"`
	Email    string `json:"email"`
	Active   bool   `json:"active"`
	UserType string `json:"user_type,omitempty"`
}

// Employee is what the org knows about one email address.
type Employee struct {
	Email    string         `json:"email"`
	Contacts []ContactMatch `json:"contacts"`
	Users    []UserMatch    `json:"users"`
	// CaseContactID is the Contact a new Case for this employee should
	// name (the oldest when several share the email); empty when there is
	// none, and the Case then carries the email as SuppliedEmail.
	CaseContactID string `json:"case_contact_id,omitempty"`
	// Notes say what is doubtful: duplicates, inactive users, no contact.
	Notes []string `json:"notes,omitempty"`
}

// Found reports whether any Contact or User has the email.
func (e *Employee) Found() bool { return len(e.Contacts)+len(e.Users) > 0 }

// ValidationError is an argument that cannot be used.
type ValidationError struct {
	Field, Value, Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("servicedesk: %s %q: %s", e.Field, e.Value, e.Reason)
}

func checkEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at == len(email)-1 || strings.ContainsAny(email, " \t\r\n,;") {
		return "", &ValidationError{Field: "email", Value: email, Reason: "is not an email address; give one such as ana.smith@example.com"}
	}
	return email, nil
}

// Find looks the email up among Contacts and Users (case-insensitively,
// as SOQL compares text) in one API call, and says which Contact a new
// Case should use.
func (s *Employees) Find(ctx context.Context, email string) (*Employee, error) {
	email, err := checkEmail(email)
	if err != nil {
		return nil, err
	}
	q := rest.Quote(email)
	contacts := "SELECT Id, Name, Email, AccountId, Account.Name, CreatedDate FROM Contact WHERE Email = " + q + " ORDER BY CreatedDate ASC, Id ASC"
	users := "SELECT Id, Name, Username, Email, IsActive, UserType FROM User WHERE Email = " + q + " ORDER BY IsActive DESC, Id ASC"
	subs, err := s.Client.Composite.Do(ctx, rest.CompositeRequest{Requests: []rest.Subrequest{
		{Method: "GET", URL: "query?q=" + url.QueryEscape(contacts), ReferenceID: "contacts"},
		{Method: "GET", URL: "query?q=" + url.QueryEscape(users), ReferenceID: "users"},
	}})
	if err != nil {
		return nil, fmt.Errorf("servicedesk: finding employee %s: %w", email, err)
	}
	recs := make([][]rest.Record, 2)
	for i, sub := range subs {
		if i > 1 {
			break
		}
		object := [2]string{"Contact", "User"}[i]
		if sub.HTTPStatusCode >= 300 {
			qe := &QueryError{Object: object, Status: sub.HTTPStatusCode}
			if items := sub.Errors(); len(items) > 0 {
				qe.Code, qe.Msg = items[0].Code(), items[0].Message
			}
			return nil, qe
		}
		var page rest.Page[rest.Record]
		if err := json.Unmarshal(sub.Body, &page); err != nil {
			return nil, fmt.Errorf("servicedesk: finding employee %s: reading the %s result: %w", email, object, err)
		}
		recs[i] = page.Records
	}
	e := &Employee{Email: email, Contacts: []ContactMatch{}, Users: []UserMatch{}}
	for _, r := range recs[0] {
		e.Contacts = append(e.Contacts, ContactMatch{ID: r.ID(), Name: str(r, "Name"), Email: str(r, "Email"), AccountID: str(r, "AccountId"),
			AccountName: str(r, "Account.Name"), CreatedDate: str(r, "CreatedDate")})
	}
	for _, r := range recs[1] {
		e.Users = append(e.Users, UserMatch{ID: r.ID(), Name: str(r, "Name"), Username: str(r, "Username"), Email: str(r, "Email"),
			Active: boolOf(r, "IsActive"), UserType: str(r, "UserType")})
	}
	slices.SortStableFunc(e.Contacts, func(a, b ContactMatch) int { return cmp.Compare(a.CreatedDate, b.CreatedDate) })
	switch len(e.Contacts) {
	case 0:
		e.Notes = append(e.Notes, "no Contact has this email: a new Case carries it as SuppliedEmail")
	case 1:
		e.CaseContactID = e.Contacts[0].ID
	default:
		e.CaseContactID = e.Contacts[0].ID
		e.Notes = append(e.Notes, fmt.Sprintf("%d Contacts share this email (duplicates): a new Case uses the oldest, %s", len(e.Contacts), e.Contacts[0].ID))
	}
	active := 0
	for _, u := range e.Users {
		if u.Active {
			active++
		} else {
			e.Notes = append(e.Notes, fmt.Sprintf("User %s (%s) is inactive", u.Username, u.ID))
		}
	}
	if active > 1 {
		e.Notes = append(e.Notes, fmt.Sprintf("%d active Users share this email", active))
	}
	if len(e.Users) == 0 && len(e.Contacts) > 0 {
		e.Notes = append(e.Notes, "no User has this email: the employee has no Salesforce login")
	}
	return e, nil
}
