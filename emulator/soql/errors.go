package soql

import (
	"fmt"
	"strings"
)

// Error codes Salesforce returns for a query it refuses.
const (
	CodeMalformedQuery        = "MALFORMED_QUERY"
	CodeInvalidField          = "INVALID_FIELD"
	CodeInvalidType           = "INVALID_TYPE"
	CodeInvalidFilterOperator = "INVALID_QUERY_FILTER_OPERATOR"
	CodeNumberOutsideRange    = "NUMBER_OUTSIDE_VALID_RANGE"
)

// Error is a refused query, carrying the errorCode and the message exactly
// as Salesforce puts them in its JSON error array. Messages about a place in
// the query start with the caret block Salesforce prints:
//
//	\nSELECT Id FROM Foo\n               ^\nERROR at Row:1:Column:16\nsObject type 'Foo' is not supported. …
type Error struct {
	Code    string
	Message string
	Pos     Pos // zero when the error is not about one place
}

func (e *Error) Error() string {
	return e.Code + ": " + e.Message
}

// errAt builds an error whose message starts with the caret block pointing
// at pos in src.
func errAt(src string, pos Pos, code, format string, args ...any) *Error {
	line := src
	lines := strings.Split(src, "\n")
	if pos.Row >= 1 && pos.Row <= len(lines) {
		line = lines[pos.Row-1]
	}
	line = strings.TrimRight(line, "\r")
	col := max(pos.Col, 1)
	msg := "\n" + line + "\n" + strings.Repeat(" ", col-1) + "^\n" +
		fmt.Sprintf("ERROR at Row:%d:Column:%d\n", pos.Row, pos.Col) + fmt.Sprintf(format, args...)
	return &Error{Code: code, Message: msg, Pos: pos}
}

// UnsupportedTypeMessage is the text Salesforce gives after the caret block
// for an object that does not exist or that the user cannot read.
func UnsupportedTypeMessage(name string) string {
	return fmt.Sprintf("sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", name)
}

// NoSuchColumnMessage is the text Salesforce gives for an unknown field.
func NoSuchColumnMessage(field, object string) string {
	return fmt.Sprintf("No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.", field, object)
}
