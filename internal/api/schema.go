package api

import (
	"reflect"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/config"
)

// schemaOf is the JSON Schema of values of t as the API writes them: its
// fields named by the struct tag tag ("json", or "yaml" for the setup's
// items, which the API carries as the file writes them). Named structs
// are put in defs and referenced.
func schemaOf(t reflect.Type, tag string, defs map[string]any) map[string]any {
	switch t {
	case reflect.TypeOf(time.Duration(0)):
		if tag == "yaml" {
			return map[string]any{"type": "string", "description": "a duration: 30s, 2m, 1h30m", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`}
		}
		return map[string]any{"type": "integer", "description": "nanoseconds"}
	case reflect.TypeOf(time.Time{}):
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem(), tag, defs)
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), tag, defs)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), tag, defs)}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := defName(t, tag)
		if name != "" {
			ref := map[string]any{"$ref": "#/components/schemas/" + name}
			if _, ok := defs[name]; ok {
				return ref
			}
			defs[name] = map[string]any{} // a type that refers to itself
		}
		props := map[string]any{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			key, opts, _ := strings.Cut(f.Tag.Get(tag), ",")
			if key == "-" {
				continue
			}
			if f.Anonymous && (key == "" || strings.Contains(opts, "inline")) && f.Type.Kind() == reflect.Struct {
				inner := schemaOf(f.Type, tag, defs)
				if ref, ok := inner["$ref"].(string); ok {
					inner = defs[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
				}
				if p, ok := inner["properties"].(map[string]any); ok {
					for k, v := range p {
						props[k] = v
					}
				}
				continue
			}
			if key == "" {
				key = f.Name
				if tag == "yaml" {
					key = strings.ToLower(f.Name)
				}
			}
			s := schemaOf(f.Type, tag, defs)
			if tag == "yaml" && config.IsSecret(key) {
				s = map[string]any{"type": "string", "writeOnly": true, "description": "never shown; left out of a PUT, the item keeps the one it had"}
			}
			props[key] = s
		}
		s := map[string]any{"type": "object", "properties": props}
		if tag == "yaml" {
			s["additionalProperties"] = false
		}
		if name != "" {
			defs[name] = s
			return map[string]any{"$ref": "#/components/schemas/" + name}
		}
		return s
	}
	return map[string]any{}
}

// defName names a struct type among the document's schemas: its package
// and name (StoreCallRecord), or Setup and its name for the setup's items.
func defName(t reflect.Type, tag string) string {
	if t.Name() == "" {
		return ""
	}
	if tag == "yaml" {
		return "Setup" + t.Name()
	}
	pkg := t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]
	if pkg == "" {
		return t.Name()
	}
	return strings.ToUpper(pkg[:1]) + pkg[1:] + t.Name()
}
