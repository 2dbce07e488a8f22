package api

import "strings"

// openAPI is the OpenAPI 3.1 document of the routes the server serves,
// built from the same table, so the two cannot disagree.
func (s *Server) openAPI() map[string]any {
	paths := map[string]any{}
	for _, rt := range s.routes {
		var params []any
		for _, p := range rt.params {
			schema := map[string]any{"type": p.typ}
			if len(p.enum) > 0 {
				schema["enum"] = p.enum
			}
			params = append(params, map[string]any{"name": p.name, "in": p.in, "required": p.required || p.in == "path",
				"description": p.description, "schema": schema})
		}
		responses := map[string]any{
			"200": map[string]any{"description": "OK", "content": map[string]any{rt.produces: map[string]any{}}},
		}
		if len(rt.params) > 0 {
			responses["400"] = errorResponse("a parameter is wrong; the error says which and why")
		}
		if rt.role != "" {
			responses["401"] = errorResponse("no valid bearer token")
			responses["403"] = errorResponse("the token's role may not do this")
		}
		if strings.HasPrefix(rt.path, "/api/v1/trace/") {
			responses["404"] = errorResponse("no message is known by this identifier")
		}
		for code, resp := range rt.responses {
			responses[code] = resp
		}
		op := map[string]any{"summary": rt.summary, "operationId": operationID(rt), "responses": responses}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.role != "" {
			op["security"] = []any{map[string]any{"bearer": []any{}}}
			op["x-mailtrace-role"] = rt.role
		}
		item, _ := paths[rt.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.path] = item
		}
		item[strings.ToLower(rt.method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "mailtrace API", "version": "1",
			"description": "Per-message proof of delivery for Postfix: traces, searches and exports. Tokens are configured in mailtrace.yaml (api.tokens) with the role analyst or admin.\n\n" + timesDoc + "\n\n" + sendersDoc},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{"Error": map[string]any{"type": "object", "required": []string{"error"},
				"properties": map[string]any{"error": map[string]any{"type": "string"}}}},
		},
	}
}

func errorResponse(desc string) map[string]any {
	return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{
		"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
}

// retryResponse is an error answer that says when to ask again.
func retryResponse(desc string) map[string]any {
	r := errorResponse(desc)
	r["headers"] = map[string]any{"Retry-After": map[string]any{"description": "seconds to wait before asking again",
		"schema": map[string]any{"type": "integer"}}}
	return r
}

func operationID(rt route) string {
	p := strings.Trim(rt.path, "/")
	p = strings.NewReplacer("api/v1/", "", "/{id}", "", ".json", "", "/", "_").Replace(p)
	return strings.ToLower(rt.method) + "_" + p
}

// timesDoc says how times are written: with the precision of their source.
const timesDoc = "Times are RFC 3339 in UTC with exactly as many digits of a second as their source has: none for Postfix log " +
	"lines from maillog_file or BSD syslog (whole seconds: 2026-11-20T09:00:00Z means a moment in [09:00:00, 09:00:01)) and for a " +
	"report's Date header (the sender's clock), six for the milter's accept time and for RFC 3339 high-precision syslog or journald " +
	"(2026-11-20T09:00:00.412000Z; trailing zeros are digits known). A trace's timeline lists its facts in causal order: where two " +
	"times from different clocks may stand for the same moment, the cause comes first (acceptance before its attempts, a notification " +
	"before the report that came back through it)."

// sendersDoc says which sender is which.
const sendersDoc = "sender is the envelope sender the application gave (the milter's accept record), else the log's; envelope_sender is " +
	"the one Postfix sent with (the log's from=): for classes with VERP the signed return path, else the same. The search parameter " +
	"sender matches either."
