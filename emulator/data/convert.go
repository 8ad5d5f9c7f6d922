package data

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/emulator/sfid"
	"github.com/sfbridge/sfbridge/emulator/soql"
)

// convert turns an input value (from JSON, CSV or Go) into the stored form
// of fd's type.
func (s *Store) convert(fd *FieldDef, v any) (any, *Error) {
	if v == nil {
		return nil, nil
	}
	if id, ok := v.(sfid.ID); ok {
		v = string(id)
	}
	typeErr := func() *Error {
		return badRequest("JSON_PARSER_ERROR", fmt.Sprintf("Cannot deserialize instance of %s from %v value or request may be missing a required field", fd.Type, v))
	}
	switch fd.kind {
	case soql.KindString:
		var str string
		switch x := v.(type) {
		case string:
			str = x
		case json.Number:
			str = x.String()
		case float64:
			str = strconv.FormatFloat(x, 'f', -1, 64)
		case int:
			str = strconv.Itoa(x)
		case bool:
			str = strconv.FormatBool(x)
		default:
			return nil, typeErr()
		}
		if fd.Length > 0 && len([]rune(str)) > fd.Length {
			return nil, badRequest("STRING_TOO_LONG", fmt.Sprintf("%s: data value too large: %s (max length=%d)", fd.Label, str, fd.Length), fd.Name)
		}
		if str == "" {
			return nil, nil
		}
		return str, nil
	case soql.KindID:
		str, ok := v.(string)
		if !ok {
			return nil, typeErr()
		}
		if str == "" {
			return nil, nil
		}
		id, err := sfid.Parse(str)
		if err != nil {
			return nil, badRequest("MALFORMED_ID", fmt.Sprintf("%s: id value of incorrect type: %s", fd.Label, str), fd.Name)
		}
		if len(fd.ReferenceTo) > 0 {
			if rt, ok := s.tables[strings.ToLower(fd.ReferenceTo[0])]; ok && rt.def.KeyPrefix != id.Prefix() && (fd.Name != "OwnerId" || id.Prefix() != "00G") {
				return nil, badRequest("FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf("%s: id value of incorrect type: %s", fd.Label, str), fd.Name)
			}
		}
		return string(id), nil
	case soql.KindBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return nil, typeErr()
	case soql.KindNumber:
		var n float64
		switch x := v.(type) {
		case float64:
			n = x
		case int:
			n = float64(x)
		case int64:
			n = float64(x)
		case json.Number:
			f, err := x.Float64()
			if err != nil {
				return nil, typeErr()
			}
			n = f
		case string:
			if x == "" {
				return nil, nil
			}
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return nil, typeErr()
			}
			n = f
		default:
			return nil, typeErr()
		}
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, typeErr()
		}
		return n, nil
	case soql.KindDate, soql.KindDateTime:
		var tm time.Time
		switch x := v.(type) {
		case time.Time:
			tm = x
		case string:
			if x == "" {
				return nil, nil
			}
			p, ok := soql.ParseDateTime(x)
			if !ok {
				return nil, badRequest("JSON_PARSER_ERROR", fmt.Sprintf("Cannot deserialize value of type `%s` from String \"%s\"", fd.Type, x))
			}
			tm = p
		default:
			return nil, typeErr()
		}
		if fd.kind == soql.KindDate {
			return soql.DateOf(tm), nil
		}
		return soql.DateTimeOf(tm), nil
	}
	return nil, typeErr()
}
