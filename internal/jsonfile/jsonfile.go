// Package jsonfile writes a value as an indented JSON file atomically (a
// temporary file renamed into place), so a reader polling for the file never
// sees half of it. Info files that carry an admin token are written 0600.
package jsonfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/sfbridge/sfbridge/internal/atomicfile"
)

// Write marshals v and replaces path with it, with the given permissions
// (whatever was at path before, and whatever the umask).
func Write(path string, v any, perm os.FileMode) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, append(b, '\n'), perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Read decodes the JSON file at path into v. A missing file leaves v as it
// is and reports found false; a file that is not valid JSON is an error that
// names it and says what to do (fix), such as "log in again".
func Read(path string, v any, fix string) (found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return true, fmt.Errorf("%s is not valid JSON (%w); fix or delete it and %s", path, err, fix)
	}
	return true, nil
}
