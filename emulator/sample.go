package emulator

import (
	"fmt"
	"strings"

	"github.com/sfbridge/sfbridge/emulator/sfid"
)

// sampleProfile is the profile sample employees get when the org has none
// of that name; every Salesforce org has a "Standard User" profile.
const sampleProfile = "Standard User"

// sampleEmployees are the Users AddSampleRecords adds; the first
// sampleSharedEmails of them also exist as Contacts with the same email,
// as employees who file cases do in a service-desk org.
var sampleEmployees = [][2]string{
	{"Ana", "Smith"}, {"Ben", "Okafor"}, {"Chloé", "Dubois"}, {"Dmitri", "Novak"}, {"Emma", "Rossi"}, {"Farid", "Haddad"},
	{"Grace", "Tanaka"}, {"Hiro", "Nguyen"}, {"Ines", "García"}, {"Jonas", "Müller"}, {"Kofi", "Mensah"}, {"Lena", "Johansson"},
}

const sampleSharedEmails = 8

// sampleArticles are Knowledge articles in English, with a German
// translation where the second text is not empty.
var sampleArticles = [][4]string{
	{"Reset your password", "Open the login page, choose Forgot Password and follow the link in the email within 24 hours.",
		"Passwort zurücksetzen", "Öffnen Sie die Anmeldeseite, wählen Sie „Passwort vergessen“ und folgen Sie dem Link in der E-Mail innerhalb von 24 Stunden."},
	{"Connect to the VPN", "Install the VPN client from the software portal and sign in with your company account.",
		"Mit dem VPN verbinden", "Installieren Sie den VPN-Client aus dem Softwareportal und melden Sie sich mit Ihrem Firmenkonto an."},
	{"Request a new laptop", "File a case with the subject New laptop; hardware is delivered within five working days.",
		"Neuen Laptop anfordern", "Erstellen Sie einen Fall mit dem Betreff „Neuer Laptop“; die Hardware wird innerhalb von fünf Arbeitstagen geliefert."},
	{"Set up multi-factor authentication", "Install the authenticator app and register it under Settings > Security.",
		"Mehr-Faktor-Authentifizierung einrichten", "Installieren Sie die Authenticator-App und registrieren Sie sie unter Einstellungen > Sicherheit."},
	{"Printer does not print", "Check that the printer is online, clear the queue and restart the print service.",
		"Drucker druckt nicht", "Prüfen Sie, ob der Drucker online ist, leeren Sie die Warteschlange und starten Sie den Druckdienst neu."},
	{"Expense report deadlines", "Submit expenses by the fifth working day of the following month.",
		"Fristen für Spesenabrechnungen", "Reichen Sie Spesen bis zum fünften Arbeitstag des Folgemonats ein."},
	{"Book a meeting room", "Use the calendar's room finder; rooms free up 10 minutes after a no-show.",
		"Besprechungsraum buchen", "Nutzen Sie die Raumsuche im Kalender; Räume werden 10 Minuten nach einem Nichterscheinen frei."},
	{"Shared drive access", "Ask your manager to approve access in the access request form.",
		"Zugriff auf das Gruppenlaufwerk", "Bitten Sie Ihre Führungskraft, den Zugriff im Antragsformular zu genehmigen."},
	{"Email on a new phone", "Install the mail app, add your work account and accept the device policy.", "", ""},
	{"Report a phishing email", "Use the Report Phishing button; do not open links or attachments.", "", ""},
	{"Change your display name", "Open your profile, choose Edit and change the name shown to others.", "", ""},
	{"Software installation policy", "Only software from the company portal may be installed on work devices.", "", ""},
}

// AddSampleRecords fills the org with sample data for trying it out: an
// Account for the org itself and 10 more, 12 employee Users (profile
// "Standard User", added when missing) of whom 8 are also Contacts with the
// same email, 40 more Contacts, 120 Cases with 240 CaseComments, and 12
// Knowledge__kav articles in en_US, 8 of them with a German (de)
// translation. The records are the same for the same seed.
func (o *Org) AddSampleRecords(seed uint64) error {
	if err := o.addSampleEmployees(); err != nil {
		return fmt.Errorf("emulator: sample data: %w", err)
	}
	st := o.Store()
	o.mu.RLock()
	orgName := o.m.org.Name
	o.mu.RUnlock()
	home, err := st.Insert("Account", "", map[string]any{"Name": orgName, "Industry": "Technology"})
	if err != nil {
		return fmt.Errorf("emulator: sample data: %w", err)
	}
	for _, e := range sampleEmployees[:sampleSharedEmails] {
		if _, err := st.Insert("Contact", "", map[string]any{"FirstName": e[0], "LastName": e[1],
			"Email": sampleEmail(e), "AccountId": string(home), "IsEmailBounced": false}); err != nil {
			return fmt.Errorf("emulator: sample data: %w", err)
		}
	}
	for i, g := range []struct {
		object string
		n      int
	}{{"Account", 10}, {"Contact", 40}, {"Case", 120}, {"CaseComment", 240}} {
		if err := st.Generate(g.object, g.n, seed+uint64(i)); err != nil {
			return fmt.Errorf("emulator: sample data: %w", err)
		}
	}
	return o.addSampleArticles()
}

func sampleEmail(e [2]string) string {
	r := strings.NewReplacer("é", "e", "ü", "ue", "í", "i")
	return strings.ToLower(r.Replace(e[0]) + "." + r.Replace(e[1]) + "@sfbridge.test")
}

func (o *Org) addSampleEmployees() error {
	o.mu.RLock()
	_, hasProfile := o.m.profiles[strings.ToLower(sampleProfile)]
	o.mu.RUnlock()
	if !hasProfile {
		err := o.PutProfile(ProfileSpec{Name: sampleProfile, Objects: map[string][]string{
			"Case": {"read", "create"}, "CaseComment": {"read", "create"}, "Knowledge__kav": {"read"}, "Contact": {"read"}, "Account": {"read"}}})
		if err != nil {
			return err
		}
	}
	for _, e := range sampleEmployees {
		email := sampleEmail(e)
		if _, err := o.AddUser(UserSpec{Username: email, Email: email, FirstName: e[0], LastName: e[1], Profile: sampleProfile}); err != nil {
			return err
		}
	}
	return nil
}

func (o *Org) addSampleArticles() error {
	st := o.Store()
	now := o.Now().UTC()
	for i, a := range sampleArticles {
		articleID := o.ids.New("kA0")
		number := fmt.Sprintf("%09d", 1000+i)
		url := strings.ToLower(strings.NewReplacer(" ", "-", ",", "").Replace(a[0]))
		published := now.AddDate(0, 0, -30+i)
		versions := []struct {
			lang, title, body string
			master            bool
		}{{"en_US", a[0], a[1], true}}
		if a[2] != "" {
			versions = append(versions, struct {
				lang, title, body string
				master            bool
			}{"de", a[2], a[3], false})
		}
		for _, v := range versions {
			fields := map[string]any{
				"KnowledgeArticleId": string(articleID), "ArticleNumber": number, "Title": v.title, "UrlName": url,
				"Summary": v.body, "Answer__c": "<p>" + v.body + "</p>", "Language": v.lang, "PublishStatus": "Online",
				"VersionNumber": 1, "IsLatestVersion": true, "IsMasterLanguage": v.master, "IsVisibleInApp": true,
				"IsVisibleInPkb": i%2 == 0, "IsVisibleInCsp": false, "IsVisibleInPrm": false, "ValidationStatus": "Validated",
				"FirstPublishedDate": published.Format("2006-01-02T15:04:05.000Z"), "LastPublishedDate": published.Format("2006-01-02T15:04:05.000Z"),
				"ArticleTotalViewCount": 40 * (len(sampleArticles) - i),
			}
			if _, err := st.Insert("Knowledge__kav", sfid.ID(""), fields); err != nil {
				return fmt.Errorf("emulator: sample data: Knowledge__kav %q: %w", v.title, err)
			}
		}
	}
	return nil
}
