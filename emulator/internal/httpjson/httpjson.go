// Package httpjson writes the emulator's JSON responses the way Salesforce
// sends them: Content-Type application/json;charset=UTF-8, the status, the
// body.
package httpjson

import (
	"encoding/json"
	"net/http"
)

// encodingFailed is Salesforce's shape of an internal error.
var encodingFailed = []byte(`[{"message":"encoding failed","errorCode":"UNKNOWN_EXCEPTION"}]`)

// Write sends v as JSON with status. A value that cannot be encoded (a bug
// in the emulator) is answered 500 UNKNOWN_EXCEPTION.
func Write(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, encodingFailed
	}
	WriteBytes(w, status, b)
}

// WriteBytes sends b, already JSON, with status.
func WriteBytes(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	w.Write(b)
}
