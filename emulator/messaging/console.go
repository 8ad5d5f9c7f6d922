package messaging

import (
	_ "embed"
	"html/template"
	"net/http"
)

//go:embed console.html
var consoleHTML string

// ServeConsole serves the agent console page. The caller (the emulator)
// decides who may see it (the admin token, or a loopback client) and
// passes the admin token the page's script uses for the admin API.
func ServeConsole(w http.ResponseWriter, adminToken string) {
	t, err := template.New("console").Parse(consoleHTML)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	_ = t.Execute(w, map[string]string{"Token": adminToken, "Prefix": AdminPrefix})
}
