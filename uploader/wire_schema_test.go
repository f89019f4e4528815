package uploader_test

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/sweephq/sweep/wire"
)

// The wire types are the one declaration of what the API answers and takes;
// the OpenAPI document describes them in prose a generator could not write,
// so instead of generating it, this test fails on any drift a generator
// would have prevented: for each schema and its type, the same members, the
// same required ones (a member without omitempty is always sent), and the
// same JSON type of each.
func TestOpenAPISchemasAreTheWireTypes(t *testing.T) {
	doc := loadOpenAPI(t)
	for name, v := range map[string]any{
		"Import": wire.Import{}, "ImportList": wire.ImportList{}, "ImportLinks": wire.Links{}, "Hold": wire.Hold{},
		"Approval": wire.Approval{}, "Impact": wire.Impact{}, "RelatedCount": wire.RelatedCount{}, "SkipCount": wire.SkipCount{},
		"RowError": wire.RowError{}, "ErrorsPage": wire.ErrorsPage{}, "Me": wire.Me{}, "ErrorBody": wire.ErrorBody{},
		"ErrorDetail": wire.ErrorDetail{}, "Events": wire.Events{}, "Event": wire.Event{}, "Throttle": wire.Throttle{},
		"ManualHold": wire.ManualHold{}, "Signal": wire.Signal{}, "RunChange": wire.RunChange{},
		"Webhook": wire.Webhook{}, "WebhookLinks": wire.WebhookLinks{}, "WebhookList": wire.WebhookList{}, "NewWebhook": wire.NewWebhook{},
		"WebhookChange": wire.WebhookChange{}, "SecretRotation": wire.SecretRotation{}, "Delivery": wire.Delivery{},
		"DeliveryList": wire.DeliveryList{}, "WebhookMessage": wire.WebhookMessage{}, "CustomerDeleted": wire.CustomerDeleted{},
		"WebhookTest": wire.WebhookTest{}, "CleanupPolicy": wire.CleanupPolicy{}, "CleanupPolicyList": wire.CleanupPolicyList{},
		"PolicyPreview": wire.PolicyPreview{}, "ApproveCleanupPolicy": wire.PolicyApproval{},
		"QueueStat": wire.QueueStat{}, "Queues": wire.Queues{}, "Instructions": wire.Instructions{},
		"Recover": wire.Recover{}, "Recovered": wire.Recovered{},
	} {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			t.Errorf("the OpenAPI document has no schema %s for wire.%T", name, v)
			continue
		}
		compareSchema(t, name, ref.Value, reflect.TypeOf(v))
	}
}

// wireMember is one JSON member of a Go struct.
type wireMember struct {
	typ      reflect.Type
	optional bool // omitempty, omitzero, or a pointer
}

func wireMembers(rt reflect.Type) map[string]wireMember {
	out := map[string]wireMember{}
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			maps.Copy(out, wireMembers(f.Type)) // encoding/json lifts an embedded struct's members
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		out[name] = wireMember{typ: f.Type, optional: strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") || f.Type.Kind() == reflect.Pointer}
	}
	return out
}

// jsonType is the OpenAPI type of a Go type as encoding/json writes it.
func jsonType(rt reflect.Type) string {
	for rt.Kind() == reflect.Pointer {
		rt = rt.Elem()
	}
	switch {
	case rt == reflect.TypeOf(time.Time{}):
		return "string"
	case rt.String() == "json.RawMessage":
		return ""
	}
	switch rt.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return ""
}

func compareSchema(t *testing.T, name string, s *openapi3.Schema, rt reflect.Type) {
	t.Helper()
	members := wireMembers(rt)
	for m, w := range members {
		p := s.Properties[m]
		if p == nil || p.Value == nil {
			t.Errorf("%s: wire.%s sends %q, which the schema does not describe", name, rt.Name(), m)
			continue
		}
		want := jsonType(w.typ)
		if got := schemaType(p.Value); want != "" && got != "" && got != want {
			t.Errorf("%s.%s: the schema says %s, wire.%s sends %s", name, m, got, rt.Name(), want)
		}
		if !w.optional && !slices.Contains(s.Required, m) {
			t.Errorf("%s.%s: wire.%s always sends it (no omitempty), the schema does not require it", name, m, rt.Name())
		}
		if w.optional && slices.Contains(s.Required, m) && w.typ.Kind() != reflect.Pointer {
			t.Errorf("%s.%s: the schema requires it, wire.%s may leave it out (omitempty)", name, m, rt.Name())
		}
	}
	for p := range s.Properties {
		if _, ok := members[p]; !ok {
			t.Errorf("%s: the schema describes %q, which wire.%s never sends", name, p, rt.Name())
		}
	}
}

// schemaType is a schema's type, following a $ref (which kin-openapi has
// resolved into Value) and allOf's first member.
func schemaType(s *openapi3.Schema) string {
	if s.Type != nil && len(*s.Type) > 0 {
		return (*s.Type)[0]
	}
	if len(s.AllOf) > 0 && s.AllOf[0].Value != nil {
		return schemaType(s.AllOf[0].Value)
	}
	return ""
}
