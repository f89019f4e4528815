package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// DecodeExact decodes b, one JSON object, into the struct v points to, as
// strictly as sweep reads anything a client or an upstream system sends:
// every member named exactly as a json tag of v (encoding/json alone would
// match "TENANT_ID" to tenant_id), each once (it would keep the last of two),
// and nothing after the object. A request whose meaning depends on those
// leniencies is refused instead; the error says why in a few words, without
// echoing the body.
func DecodeExact(b []byte, v any) error {
	if err := ExactMembers(b, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return errors.New(JSONProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("it has more after its JSON object")
	}
	return nil
}

// ExactMembers checks that b is a JSON object whose members are each named
// exactly as a json tag of the struct v points to, once.
func ExactMembers(b []byte, v any) error {
	names := map[string]bool{}
	t := reflect.TypeOf(v).Elem()
	for _, f := range reflect.VisibleFields(t) { // members of embedded structs too
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" && !f.Anonymous {
			names[name] = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("it is not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return errors.New(JSONProblem(err))
		}
		name := tok.(string)
		switch {
		case !names[name]:
			return fmt.Errorf("it has the unknown member %q", SafeValue(name))
		case seen[name]:
			return fmt.Errorf("%s is given twice", name)
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return errors.New(JSONProblem(err))
		}
	}
	return nil
}

// JSONProblem describes a JSON decoding error in a few words, without
// echoing the input.
func JSONProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("it is not valid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s must be a JSON %s", te.Field, jsonKind(te.Type.Kind().String()))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "it ends before the object is complete"
	}
	return "it is not valid JSON"
}

func jsonKind(k string) string {
	switch k {
	case "bool":
		return "boolean (true or false)"
	case "string", "struct", "ptr":
		return "string"
	case "slice", "array":
		return "array"
	case "map":
		return "object"
	}
	return "number"
}
