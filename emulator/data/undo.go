package data

import (
	"context"

	"github.com/sfbridge/sfbridge/emulator/sfid"
)

// undoLog records how to roll back writes of an allOrNone request.
type undoLog struct{ fns []func() }

func (u *undoLog) add(fn func()) { u.fns = append(u.fns, fn) }

func (u *undoLog) rollback() {
	for i := len(u.fns) - 1; i >= 0; i-- {
		u.fns[i]()
	}
	u.fns = nil
}

type undoKey struct{}

func withUndo(ctx context.Context, u *undoLog) context.Context {
	return context.WithValue(ctx, undoKey{}, u)
}

func undoFrom(ctx context.Context) *undoLog {
	u, _ := ctx.Value(undoKey{}).(*undoLog)
	return u
}

// normID returns the 18-character form of an id, or text unchanged when it
// is not one.
func normID(text string) string {
	id, err := sfid.Parse(text)
	if err != nil {
		return text
	}
	return string(id)
}
