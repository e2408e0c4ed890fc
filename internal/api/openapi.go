package api

import (
	"net/http"
	"regexp"
	"strings"
)

// summaries describe every route for the OpenAPI document; a test checks
// that each registered route has one.
var summaries = map[string]string{
	"GET /api/v1/calls":                                        "Call records, newest first (limit, since); agents see only their own",
	"GET /api/v1/calls/{id}":                                   "One call record with its timeline of events",
	"GET /api/v1/calls/{id}/recording":                         "The call's recording, audio/wav, two channels (caller left, agent right); each download is logged",
	"POST /api/v1/calls/{id}/recording/{action}":               "start (on-demand queues), pause or resume a live call's recording",
	"GET /api/v1/calls/{id}/transcript":                        "The call's automatic transcript (may contain errors): utterances per channel with times, summary, caller sentiment, phrases spotted; 404 until it is made",
	"PUT /api/v1/calls/{id}/transcript/summary":                "Replace the transcript's summary (the agent's edit in wrap-up)",
	"GET /api/v1/transcripts":                                  "Search transcripts (?q=words: all of them; ?limit=), best first, with a snippet",
	"GET /api/v1/reports/speech":                               "Caller sentiment per agent and queue (negative starts turned round) and the phrases spotted per queue by weekday and hour and week over week (?from=&to=&tz=)",
	"GET /api/v1/speech/live":                                  "Live calls being heard (sentiment so far, phrases), the speech streams and the worker's state",
	"POST /api/v1/calls/{id}/hangup":                           "Hang up a live call",
	"POST /api/v1/calls/{id}/consult":                          `Attended transfer, first step: hold the caller and ring {"to": extension or number} for the agent`,
	"POST /api/v1/calls/{id}/consult/complete":                 "Attended transfer, done: the caller goes to the consulted party, the agent leaves",
	"POST /api/v1/calls/{id}/consult/cancel":                   "Attended transfer abandoned: the consulted party is dropped, the caller comes back",
	"POST /api/v1/calls/{id}/dtmf":                             `Send DTMF to the call's party: {"digits": "123#"} (the desktop's keypad)`,
	"POST /api/v1/calls/{id}/hold":                             `Hold or resume a live call's caller: {"on": true|false}`,
	"GET /api/v1/stream":                                       "Server-sent events: a snapshot of the agent (or of every queue and agent for supervisors) each second and on every change",
	"POST /api/v1/calls/{id}/monitor":                          `Listen to, whisper to or barge into a live call from your softphone: {"mode": "listen"|"whisper"|"barge"}; again to switch modes`,
	"DELETE /api/v1/monitor":                                   "Stop your monitoring",
	"POST /api/v1/webrtc/offer":                                `Connect the agent's browser softphone: {"sdp": offer} → {"sdp": answer} (PCMU, DTLS-SRTP)`,
	"POST /api/v1/webrtc/answer":                               "Answer the call ringing on the desktop's softphone",
	"POST /api/v1/webrtc/reject":                               "Reject the call ringing on the desktop's softphone",
	"DELETE /api/v1/webrtc":                                    "Disconnect the desktop's softphone",
	"POST /api/v1/calls/{id}/queue":                            `Move a waiting call to another queue and/or change its priority: {"queue": "sales", "priority": 5}`,
	"POST /api/v1/calls/{id}/disposition":                      `Close a call: {"code": "sale", "tags": ["vip"], "notes": "..."}; the agent who took it, or a supervisor`,
	"GET /api/v1/callers/{number}/crm":                         "The configured CRM's record of a caller, as fields, and a link (the screen pop)",
	"GET /api/v1/callers/{number}/calls":                       "A caller's earlier calls, newest first, with their dispositions (the screen pop's history)",
	"POST /api/v1/calls/click-to-call":                         `Ring an agent, then dial a number for them: {"agent": "1003", "number": "5551234"}`,
	"POST /api/v1/calls/{id}/conference":                       `Add a party to a live call: {"to": extension, queue or number}; rung, then everyone hears everyone ({"to": ""} merges a consultation)`,
	"POST /api/v1/calls/{id}/conference/leave":                 "The agent leaves the conference; the others stay connected",
	"DELETE /api/v1/calls/{id}/conference/{party}":             "Remove one party (its id from the call's parties) from the conference",
	"POST /api/v1/calls/{id}/transfer":                         `Transfer a live call: {"to": extension, queue or number}`,
	"GET /api/v1/agents":                                       "Every agent's live state",
	"GET /api/v1/agents/{id}":                                  "One agent's live state, skills and today's figures",
	"POST /api/v1/agents/{id}/login":                           "Log an agent in (available)",
	"POST /api/v1/agents/{id}/logout":                          "Log an agent out; during a call, 202: the logout waits for the call and its wrap-up to end (the agent shows pending_state)",
	"POST /api/v1/agents/{id}/state":                           `Set an agent's state: {"state": "available"|"away"|"logged_out"|"wrap_up", "reason": ..., "extend_seconds": ...} (extend_seconds, 1 to 3600, with wrap_up: more after-call time); 200 with the agent when the change is made, 202 when away or logged_out is asked for during a call: it is deferred until the call and its wrap-up end, and the agent shows it as pending_state`,
	"GET /api/v1/queues":                                       "Every queue's live state",
	"GET /api/v1/queues/{name}":                                "One queue: waiting, longest and estimated wait, callbacks pending, agents",
	"GET /api/v1/me":                                           "Who the credentials belong to",
	"GET /api/v1/stats":                                        "Process counters: active calls, RTP, SIP",
	"GET /api/v1/hours":                                        "Business hours: open now, holiday, override",
	"PUT /api/v1/hours/{name}/override":                        `Force a schedule {"state": "open"|"closed"}`,
	"DELETE /api/v1/hours/{name}/override":                     "Return a schedule to its hours",
	"GET /api/v1/reports/queues":                               "Queue report: a row per queue per interval and totals (from, to, interval; format=csv for CSV)",
	"GET /api/v1/reports/ivr":                                  "The IVR's figures per flow and step (from, to, flow): entered, option shares, timeouts, invalid keys, hang-ups, median and p90 time; the funnel of where calls ended",
	"GET /api/v1/reports/wait-estimates":                       "Wait-estimate accuracy per queue and day (from, to): median absolute error, bias, share within 30 s or 20 %",
	"POST /api/v1/config/reload":                               "Read the setup file again and apply it without dropping a call; a changed setup is a new version",
	"POST /api/v1/config/apply":                                "Validate the body as the setup file, save it as a new version, write it over the file and apply it",
	"GET /api/v1/config/versions":                              "The setup's versions, newest first (limit), and the one this node runs",
	"GET /api/v1/config/versions/{n}":                          "One version of the setup: its YAML, who made it, how, when, its diff from the one before",
	"GET /api/v1/config/versions/{n}/diff":                     "Unified diff from version against (default n-1) to version n",
	"POST /api/v1/config/versions/{n}/restore":                 "Put version n in force again, as an apply: a new version",
	"GET /api/v1/config/export":                                "The YAML of the version this node runs (or ?version=), exactly as given",
	"GET /api/v1/config":                                       "The setup this node runs, its version as the ETag: YAML with Accept: application/yaml, else JSON {version, at, by, yaml}",
	"PUT /api/v1/config":                                       "Publish a whole setup (YAML body) as a new version: 422 {errors: [\"<line>: ...\"]} when invalid, 409 when If-Match names a version no longer the latest",
	"GET /api/v1/config/queues/{id}/dispositions":              "A queue's dispositions",
	"PUT /api/v1/config/queues/{id}/dispositions":              `Set a queue's dispositions: {"dispositions": ["sale", ...]}, published as a new version (supervisors may, by default)`,
	"GET /api/v1/config/queues/{id}/script":                    "A queue's script (markdown) shown to its agents during calls",
	"PUT /api/v1/config/queues/{id}/script":                    `Set a queue's script: {"script": "..."}, published as a new version (supervisors may, by default)`,
	"POST /api/v1/campaigns":                                   "Create an outbound campaign (the setup's campaigns collection: checked as the setup file is, 422 names the field; published as a new version); 201",
	"GET /api/v1/campaigns":                                    "The outbound campaigns with their state and figures",
	"GET /api/v1/dnc/lists":                                    "The do-not-call lists (internal, and each imported one) with their entries' count",
	"POST /api/v1/dnc/lists/{list}":                            "Admins: import a do-not-call list (text/plain, a number or prefix* per line; or text/csv, numbers in the first column) under its name; ?replace=true drops its earlier entries first (a registry's new download)",
	"DELETE /api/v1/dnc/lists/{list}":                          "Admins: remove an imported do-not-call list's entries",
	"GET /api/v1/campaigns/mine":                               "Agents: the running campaigns they work (by their queues): name, mode, queue; the desktop's campaign panel",
	"GET /api/v1/campaigns/{name}":                             "A campaign's state and figures: contacts, attempts, connected, dnc_skipped, abandoned, abandon_rate (of live answers; over the campaign) and abandon_rate_30d (its last 30 days)",
	"POST /api/v1/campaigns/{name}/start":                      "Start (or resume) dialling the campaign",
	"POST /api/v1/campaigns/{name}/pause":                      "Pause the campaign: no new calls; calls in progress go on",
	"POST /api/v1/campaigns/{name}/stop":                       "Stop the campaign: no new calls; calls in progress go on",
	"POST /api/v1/campaigns/{name}/contacts":                   "Add contacts from a text/csv list whose header names at least number (timezone optional; other columns become fields; ?map=Phone:number renames columns); bad rows are reported, the rest added",
	"GET /api/v1/campaigns/{name}/contacts":                    "A campaign's contacts in the order added (offset, limit ≤ 1000), with their attempts and next attempt",
	"GET /api/v1/campaigns/{name}/preview":                     "A preview campaign's next contact for the calling agent (theirs until dialled or skipped); contact null when none is due",
	"POST /api/v1/campaigns/{name}/preview/dial":               "Dial the previewed contact: the agent's phone rings, then the contact over the campaign's trunk; 202 with the call's id",
	"POST /api/v1/campaigns/{name}/preview/skip":               `Pass the previewed contact by: {"reason": "..."}; counted as a skip, tried again in an hour`,
	"GET /api/v1/reports/campaigns":                            "Outbound campaigns per interval (from, to, interval ≥ 15m): attempts, connected, right-party contacts, AMD decisions, drops, abandonment over the interval and the rolling 30 days, skips, talk; totals with list penetration",
	"GET /api/v1/reports/compliance":                           "Abandonment compliance per campaign (from, to, campaign): live answers, drops and rate against the target, day by day with the rolling 30 days, and every drop's call",
	"POST /api/v1/campaigns/{name}/contacts/{number}/callback": `Schedule a callback the contact asked for: {"at": RFC 3339, "agent": "1001"} (staff name any agent or none; an agent schedules for themselves); the named agent's phone rings first when they are free`,
	"GET /api/v1/dnc":                                          "The do-not-call entries (numbers, and prefixes ending in *) by number, each with its list: ?list= one list (internal, an import's name), ?offset=, ?limit= (1000; at most 10000)",
	"POST /api/v1/dnc":                                         `Put {"number": "5551234"} (or a prefix "555*") on the internal do-not-call list; checked at every dial; 201`,
	"DELETE /api/v1/dnc/{number}":                              "Take a number (or prefix) off the internal do-not-call list; 404 when it is not on it",
	"GET /api/v1/config/prompts":                               "The prompts the setup may play: uploaded ones (format, when, by) and the sounds directory's, each saying whether the setup plays it",
	"PUT /api/v1/config/prompts/{name}":                        "Upload a prompt: the body is a WAV (PCM, float, µ-law, A-law; any rate and channels) or MP3 file, converted to 8 kHz mono; it plays from the next call that reaches it (422 when it is no audio)",
	"GET /api/v1/config/prompts/{name}/wav":                    "A prompt as an 8 kHz mono WAV, to play it back",
	"DELETE /api/v1/config/prompts/{name}":                     "Remove an uploaded prompt (409 while the setup plays it); a sounds directory's file of that name plays again",
	"POST /api/v1/webcall":                                     `No login: call the setup's web_caller.number from a browser: {"sdp": offer} → {"id", "sdp": answer} (PCMU, DTLS-SRTP); 429 beyond web_caller.per_minute calls a minute from one address, 503 at web_caller.max_calls`,
	"GET /api/v1/webcall/{id}":                                 `No login: a web call's state: {"state": "calling"|"connected"|"ended", "reason"}`,
	"POST /api/v1/webcall/{id}/dtmf":                           `No login: press keys on a web call: {"digits": "1"} (the page's keypad; sent as SIP INFO)`,
	"DELETE /api/v1/webcall/{id}":                              "No login: hang up a web call",
	"POST /api/v1/session":                                     `Log in: {"username", "password"} → a session cookie (HttpOnly, 12 h); 429 with Retry-After while the login is throttled`,
	"DELETE /api/v1/session":                                   "Log out: the session cookie is cleared",
	"GET /api/v1/config/roles":                                 "What each role may read and edit in the admin API and console (console.supervisors_edit)",
	"PUT /api/v1/config/roles":                                 `Admins: what supervisors may edit, {"supervisors_edit": ["agents", "dispositions", "scripts", "queues"]}: console.supervisors_edit published as a new version (422 naming what is not editable)`,
	"POST /api/v1/config/validate":                             "Check a setup (YAML body) as PUT would, changing nothing: 200 {valid: true} or 422 {errors}",
	"POST /api/v1/config/changes":                              `Publish several items' changes as one version (the console's draft): {"changes": [{"collection", "op": "create"|"put"|"delete", "id", "item", "if_match"}]}, checked as the whole setup; 409 on a stale If-Match (version) or if_match (item ETag); ?dry_run=true only checks`,
	"GET /api/v1/reports/agents":                               "Agent report: answered, talk, AHT, time in each state, occupancy (from, to)",
	"GET /api/v1/qa/scorecards":                                "The configured QA scorecards",
	"GET /api/v1/qa/scores":                                    "QA scores given (from, to, agent); agents see their own",
	"GET /api/v1/qa/review":                                    "This week's review queue: calls picked by rules (long, review dispositions, abandoned after a transfer) and at random per agent",
	"POST /api/v1/calls/{id}/score":                            `Score a call: {"scorecard": "standard", "answers": {"greet": true}, "comment": "..."}`,
	"GET /api/v1/webhooks/deliveries":                          "The webhook delivery log",
	"GET /api/v1/trunks":                                       "Outbound trunk registrations",
	"GET /api/v1/security/bans":                                `Sources banned for failing SIP authentication (admin): [{"source", "since", "until", "failures"}]; a banned source's requests get no answer`,
	"DELETE /api/v1/security/bans/{source}":                    "Lift the ban of one source, an IP address (admin)",
	"GET /api/v1/security/events":                              `Security events (admin): counts by kind since start (auth_failure, nonce_replay, uri_mismatch, ban, unban; rate_limited, malformed and connection_limit sampled once per source per interval, each with the count it stands for), requests dropped from banned sources, shed counts, and the recent events`,
	"GET /api/v1/audit":                                        `The audit log (admin), newest first: at, actor, role, source, action (login, login_failed, token_create, token_revoke, or the route), target, result, detail, before, after; filters actor, action (prefix), since, until, limit`,
	"GET /api/v1/voicemails":                                   "Stored voicemail messages and their email delivery",
	"GET /api/v1/voicemails/{id}/audio":                        "A voicemail message, audio/wav",
	"GET /api/v1/cluster":                                      "Nodes, leader and epoch of the cluster (admin)",
	"GET /debug/pprof/":                                        "Go profiles (admin)",
	"GET /debug/pprof/profile":                                 "30 s CPU profile (admin)",
	"GET /debug/pprof/trace":                                   "Execution trace (admin)",
}

// deferrable reports whether a route answers 202 when the change waits for
// the agent's call and wrap-up to end.
func deferrable(pattern string) bool {
	switch pattern {
	case "POST /api/v1/agents/{id}/logout", "POST /api/v1/agents/{id}/state":
		return true
	}
	return false
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// openAPI serves the OpenAPI 3.1 document of the routes (no auth).
func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) {
	paths := map[string]map[string]any{}
	defs := map[string]any{}
	bodies := collectionSchemas(defs)
	for k, v := range routeBodies(defs) {
		bodies[k] = v
	}
	for _, rt := range s.routes {
		method, path, _ := strings.Cut(rt.pattern, " ")
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		var params []map[string]any
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]string{"type": "string"}})
		}
		responses := map[string]any{
			"200": map[string]string{"description": "OK"},
			"401": map[string]string{"description": "no or bad credentials"},
			"403": map[string]string{"description": "the role may not do this"},
		}
		if deferrable(rt.pattern) {
			responses["202"] = map[string]string{"description": "deferred until the agent's call and wrap-up end (pending_state)"}
		}
		summary := summaries[rt.pattern]
		if summary == "" && collectionRoute(rt.pattern) {
			summary = collectionSummary(rt.pattern)
		}
		if b, ok := bodies[rt.pattern]; ok {
			if res, ok := b["response"]; ok {
				responses["200"] = map[string]any{"description": "OK", "content": map[string]any{"application/json": map[string]any{"schema": res}}}
			}
		}
		op := map[string]any{
			"summary":   summary,
			"security":  []map[string][]string{{"basicAuth": {}}, {"bearerAuth": {}}},
			"x-roles":   rt.roles,
			"responses": responses,
		}
		if params != nil {
			op["parameters"] = params
		}
		if len(rt.roles) == 0 { // public: no login
			op["security"] = []map[string][]string{}
		}
		if b, ok := bodies[rt.pattern]; ok {
			if req, ok := b["request"]; ok {
				op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": req}}}
			}
		}
		paths[path][strings.ToLower(method)] = op
	}
	writeJSON(w, 200, map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]string{"title": "Switchboard API", "version": "1"},
		"paths":   paths,
		"components": map[string]any{"schemas": defs, "securitySchemes": map[string]any{
			"basicAuth":  map[string]string{"type": "http", "scheme": "basic"},
			"bearerAuth": map[string]string{"type": "http", "scheme": "bearer", "description": "switchboard token create --user NAME"},
		}},
	})
}

// collectionSummary describes a route of the setup's collections.
func collectionSummary(pattern string) string {
	method, path, _ := strings.Cut(pattern, " ")
	rest := strings.TrimPrefix(path, "/api/v1/config/")
	name, sub, _ := strings.Cut(rest, "/")
	one := strings.TrimSuffix(name, "s")
	switch {
	case sub == "" && method == "GET":
		return "The setup's " + name + " (its latest version), as the setup file writes them; secrets left out"
	case sub == "" && method == "POST":
		return "Add one of the setup's " + name + ": checked as the setup file is (422 names the field), published as a new version, applied to the next call; 409 when it exists"
	case method == "GET":
		return "One of the setup's " + name + "; its ETag is for If-Match"
	case method == "PUT":
		return "Replace (or add) one of the setup's " + name + ", published as a new version; If-Match (its ETag, or a version) refuses a stale change with 409; ?dry_run=true only checks"
	case method == "DELETE":
		return "Remove one of the setup's " + name + " (" + one + "), published as a new version; 422 when the rest of the setup needs it"
	}
	return ""
}
