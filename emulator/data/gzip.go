package data

import (
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// gzipWriter compresses a response for a client that sent
// Accept-Encoding: gzip, as Salesforce does. Empty answers (204, 304) stay
// uncompressed.
type gzipWriter struct {
	http.ResponseWriter
	pool    *sync.Pool
	zw      *gzip.Writer
	decided bool
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func (g *gzipWriter) WriteHeader(status int) {
	if !g.decided {
		g.decided = true
		h := g.Header()
		h.Add("Vary", "Accept-Encoding")
		if status != http.StatusNoContent && status != http.StatusNotModified && h.Get("Content-Encoding") == "" {
			h.Set("Content-Encoding", "gzip")
			h.Del("Content-Length")
			g.zw = g.pool.Get().(*gzip.Writer)
			g.zw.Reset(g.ResponseWriter)
		}
	}
	g.ResponseWriter.WriteHeader(status)
}

func (g *gzipWriter) Write(b []byte) (int, error) {
	if !g.decided {
		g.WriteHeader(http.StatusOK)
	}
	if g.zw == nil {
		return g.ResponseWriter.Write(b)
	}
	return g.zw.Write(b)
}

// finish flushes the compressed stream and returns the compressor.
func (g *gzipWriter) finish() {
	if g.zw == nil {
		return
	}
	g.zw.Close()
	g.pool.Put(g.zw)
	g.zw = nil
}
