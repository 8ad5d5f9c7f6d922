// Package hygiene holds repository-wide checks that keep the codebase honest:
// every package documents itself, and every environment variable the CLI
// reads is listed in `sfbridge help environment`. It has no code of its own.
package hygiene
