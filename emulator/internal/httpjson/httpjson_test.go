package httpjson

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, http.StatusCreated, map[string]any{"id": "500xx", "success": true})
	if rec.Code != http.StatusCreated || rec.Header().Get("Content-Type") != "application/json;charset=UTF-8" || rec.Body.String() != `{"id":"500xx","success":true}` {
		t.Errorf("got %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	rec = httptest.NewRecorder()
	Write(rec, http.StatusOK, func() {})
	if rec.Code != http.StatusInternalServerError || rec.Body.String() != string(encodingFailed) {
		t.Errorf("unencodable value: got %d %s", rec.Code, rec.Body)
	}
}
