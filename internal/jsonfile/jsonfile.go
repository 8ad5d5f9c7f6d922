// Package jsonfile writes a value as an indented JSON file atomically (a
// temporary file renamed into place), so a reader polling for the file never
// sees half of it. Info files that carry an admin token are written 0600.
package jsonfile

import (
	"encoding/json"
	"fmt"
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
