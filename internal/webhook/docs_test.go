package webhook

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/webhooksig"
)

// The receiver examples of docs/webhooks.md verify what this package
// signs: each is run (when its interpreter is installed) on a header from
// webhooksig.SignatureHeader with two secrets, a changed body, and a stale timestamp.
func TestDocsExamplesVerify(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "webhooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	for _, m := range regexp.MustCompile("(?s)```(\\w+)\\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		if _, ok := blocks[m[1]]; !ok {
			blocks[m[1]] = m[2]
		}
	}
	body := `{"id":"500Hn00001XyZabQAB@1772366400123","type":"case.updated","subject":"caf\u00e9 \u2603"}`
	other := []byte("the-previous-secret-0123")
	header := webhooksig.SignatureHeader(signedAt, []byte(body), other, testSecret)
	now := signedAt.Add(time.Minute).Unix()
	// Each driver prints one line per case: ok, or the error.
	drivers := map[string]struct {
		bin, ext, driver string
	}{
		"python": {"python3", ".py", `
import sys
secret, header, body, now = sys.argv[1].encode(), sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
for b, n in [(body, now), (body + b" ", now), (body, now + 600)]:
    try:
        verify_sfbridge(secret, header, b, now=n)
        print("ok")
    except SignatureError as e:
        print(e)
`},
		"js": {"node", ".js", `
const [secret, header, body, now] = process.argv.slice(2);
for (const [b, n] of [[Buffer.from(body), +now], [Buffer.from(body + " "), +now], [Buffer.from(body), +now + 600]]) {
  try { verifySfbridge(secret, header, b, 300, n); console.log("ok"); } catch (e) { console.log(e.message); }
}
`},
	}
	want := "ok\nno matching signature\nsignature timestamp outside tolerance\n"
	for lang, d := range drivers {
		t.Run(lang, func(t *testing.T) {
			code, ok := blocks[lang]
			if !ok {
				t.Fatalf("docs/webhooks.md has no %s example", lang)
			}
			bin, err := exec.LookPath(d.bin)
			if err != nil {
				t.Skipf("%s is not installed; the %s example is not checked", d.bin, lang)
			}
			file := filepath.Join(t.TempDir(), "verify"+d.ext)
			if err := os.WriteFile(file, []byte(code+d.driver), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, file, string(testSecret), header, body, strconv.FormatInt(now, 10)).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", d.bin, err, out)
			}
			if string(out) != want {
				t.Fatalf("the %s example printed\n%s\nwant\n%s", lang, out, want)
			}
		})
	}
}
