package api

import (
	"net/netip"
	"reflect"

	"github.com/switchboard/switchboard/internal/acd"
	"github.com/switchboard/switchboard/internal/call"
	"github.com/switchboard/switchboard/internal/cluster"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/flow"
	"github.com/switchboard/switchboard/internal/qa"
	"github.com/switchboard/switchboard/internal/report"
	"github.com/switchboard/switchboard/internal/security"
	"github.com/switchboard/switchboard/internal/store"
	"github.com/switchboard/switchboard/internal/webhook"
)

// routeBodies gives the request and response body schemas of the API's
// routes (besides the setup's collections), by route pattern ("GET
// /api/v1/calls/{id}"), each a map with "request" and/or "response"; named
// Go types go into defs (components.schemas).
//
// A route that answers with something other than JSON (audio, CSV, a
// diff, YAML, the event stream, profiles) or with no body at all (204) has
// no "response". A request body that is not JSON (a setup's YAML, a
// prompt's audio) is a string whose description says what it is. A
// response answered with 202 rather than 200 says so in its description.
func routeBodies(defs map[string]any) map[string]map[string]any {
	of := func(v any) map[string]any { return schemaOf(reflect.TypeOf(v), "json", defs) }
	// A netip.Addr is written as its text ("192.0.2.7"), not as a struct.
	defs[defName(reflect.TypeOf(netip.Addr{}), "json")] = desc(str(), "an IP address")
	agent := schemaAs(reflect.TypeOf(agentOut{}), "ApiAgent", defs)
	status := func(v string) map[string]any { return obj(map[string]any{"status": with(str(), "const", v)}) }
	accepted := func(s map[string]any) map[string]any {
		return desc(s, "answered with 202 Accepted: the call carries it out")
	}
	setupYAML := func() map[string]any {
		return desc(str(), "the whole setup file as YAML (Content-Type: application/yaml), not JSON")
	}
	changes := desc(obj(map[string]any{
		"agents_added":   arr(str()),
		"agents_removed": arr(str()),
		"restart_needed": desc(arr(str()), "the sections that changed but apply only at the next start"),
	}), "what applying the setup changed")
	reportOf := func(key string, rows map[string]any) map[string]any {
		return obj(map[string]any{
			"from":        dateTime(),
			"to":          dateTime(),
			key:           rows,
			"definitions": desc(mapOf(str()), "each figure's definition, in words"),
		})
	}

	b := map[string]map[string]any{}

	// Calls: history, live control, transfers, conferences.
	b["GET /api/v1/calls"] = map[string]any{"response": obj(map[string]any{"calls": of([]store.CallRecord{})})}
	b["GET /api/v1/calls/{id}"] = map[string]any{"response": of(struct {
		store.CallRecord
		Disposition *store.Disposition `json:"disposition,omitempty"`
		Events      []store.Event      `json:"events"`
		State       string             `json:"state,omitempty"`
		Parties     []call.Party       `json:"parties,omitempty"`
		Commands    []string           `json:"commands,omitempty"`
		Recording   string             `json:"recording,omitempty"`
	}{})}
	b["POST /api/v1/calls/{id}/recording/{action}"] = map[string]any{"response": obj(map[string]any{"status": enum("start", "pause", "resume")})}
	b["POST /api/v1/calls/{id}/hangup"] = map[string]any{"response": status("hangup")}
	b["POST /api/v1/calls/{id}/hold"] = map[string]any{
		"request":  request(map[string]any{"on": desc(boolean(), "true holds the caller, false resumes")}, "on"),
		"response": status("hold"),
	}
	b["POST /api/v1/calls/{id}/dtmf"] = map[string]any{
		"request": request(map[string]any{
			"digits": with(str(), "pattern", `^[0-9*#A-D]{1,32}$`),
		}, "digits"),
		"response": status("dtmf"),
	}
	b["POST /api/v1/calls/{id}/consult"] = map[string]any{
		"request":  request(map[string]any{"to": desc(str(), "an extension or a number")}, "to"),
		"response": status("consult"),
	}
	b["POST /api/v1/calls/{id}/consult/complete"] = map[string]any{"response": status("consult/complete")}
	b["POST /api/v1/calls/{id}/consult/cancel"] = map[string]any{"response": status("consult/cancel")}
	b["POST /api/v1/calls/{id}/monitor"] = map[string]any{
		"request": request(map[string]any{"mode": enum("listen", "whisper", "barge")}, "mode"),
		"response": accepted(obj(map[string]any{
			"status": with(str(), "const", "monitoring"),
			"mode":   enum("listen", "whisper", "barge"),
		})),
	}
	b["DELETE /api/v1/monitor"] = map[string]any{"response": status("stopped")}
	b["POST /api/v1/calls/{id}/queue"] = map[string]any{
		"request": desc(request(map[string]any{
			"queue":    desc(str(), "the queue to move the call to"),
			"priority": integer(),
		}), "at least one of queue and priority"),
		"response": status("requeued"),
	}
	b["POST /api/v1/calls/{id}/disposition"] = map[string]any{
		"request": request(map[string]any{
			"code":  desc(str(), "one of the queue's dispositions, when it has a list"),
			"tags":  arr(str()),
			"notes": str(),
		}, "code"),
		"response": of(store.Disposition{}),
	}
	b["POST /api/v1/calls/click-to-call"] = map[string]any{
		"request": request(map[string]any{
			"agent":  desc(str(), "the agent's extension (an agent: their own)"),
			"number": str(),
		}, "agent", "number"),
		"response": accepted(obj(map[string]any{
			"call_id": str(),
			"status":  with(str(), "const", "ringing the agent"),
		})),
	}
	b["POST /api/v1/calls/{id}/conference"] = map[string]any{
		"request": desc(request(map[string]any{
			"to": desc(str(), "an extension, queue or number; empty merges the consulted party"),
		}), "optional: without a body, or with an empty to, the consultation is merged"),
		"response": accepted(obj(map[string]any{
			"status": enum("ringing", "merged"),
			"to":     str(),
		})),
	}
	b["POST /api/v1/calls/{id}/conference/leave"] = map[string]any{"response": status("left")}
	b["DELETE /api/v1/calls/{id}/conference/{party}"] = map[string]any{"response": obj(map[string]any{
		"status": with(str(), "const", "removed"),
		"party":  str(),
	})}
	b["POST /api/v1/calls/{id}/transfer"] = map[string]any{
		"request": request(map[string]any{"to": desc(str(), "an extension, queue or number")}, "to"),
		"response": accepted(obj(map[string]any{
			"status": with(str(), "const", "transferring"),
			"to":     str(),
		})),
	}
	b["POST /api/v1/calls/{id}/score"] = map[string]any{
		"request": request(map[string]any{
			"scorecard": desc(str(), "the name of one of the configured scorecards"),
			"answers":   desc(mapOf(boolean()), "each question's id and whether the call met it"),
			"comment":   str(),
		}, "scorecard"),
		"response": of(struct {
			store.QAScore
			Missed []string `json:"missed,omitempty"`
		}{}),
	}
	b["GET /api/v1/callers/{number}/calls"] = map[string]any{"response": of([]store.PastCall{})}
	b["GET /api/v1/callers/{number}/crm"] = map[string]any{"response": obj(map[string]any{
		"found": boolean(),
		"fields": desc(arr(obj(map[string]any{"name": str(), "value": str()})),
			"the CRM record's scalar fields, nested ones named a.b, by name"),
		"link": str(),
	})}

	// Agents, queues, hours and the live figures.
	b["GET /api/v1/agents"] = map[string]any{"response": obj(map[string]any{"agents": arr(agent)})}
	b["GET /api/v1/agents/{id}"] = map[string]any{"response": agent}
	b["POST /api/v1/agents/{id}/login"] = map[string]any{"response": agent}
	b["POST /api/v1/agents/{id}/logout"] = map[string]any{"response": agent}
	b["POST /api/v1/agents/{id}/state"] = map[string]any{
		"request": request(map[string]any{
			"state":          enum(string(acd.Available), string(acd.Away), string(acd.LoggedOut), string(acd.WrapUp)),
			"reason":         desc(str(), "with away: why (default away)"),
			"extend_seconds": desc(integer(), "with wrap_up, 1 to 3600: more after-call time"),
		}, "state"),
		"response": agent,
	}
	b["GET /api/v1/queues"] = map[string]any{"response": obj(map[string]any{"queues": of([]acd.QueueView{})})}
	b["GET /api/v1/queues/{name}"] = map[string]any{"response": of(acd.QueueView{})}
	b["GET /api/v1/me"] = map[string]any{"response": obj(map[string]any{
		"username": str(),
		"role":     enum(config.RoleAdmin, config.RoleSupervisor, config.RoleAgent),
	})}
	b["GET /api/v1/stats"] = map[string]any{"response": desc(obj(map[string]any{
		"active_calls":      integer(),
		"media_endpoints":   integer(),
		"rtp_packets_in":    integer(),
		"rtp_packets_out":   integer(),
		"rtp_packets_lost":  integer(),
		"rtp_wrong_source":  integer(),
		"rtp_malformed":     integer(),
		"pacer_late_ticks":  integer(),
		"sip_requests":      desc(mapOf(integer()), "by method"),
		"sip_responses":     desc(mapOf(integer()), "by status code"),
		"registered_phones": integer(),
		"draining":          boolean(),
	}), "the process's counters, as the node reports them")}
	b["GET /api/v1/hours"] = map[string]any{"response": of([]flow.ScheduleStatus{})}
	b["PUT /api/v1/hours/{name}/override"] = map[string]any{
		"request":  request(map[string]any{"state": enum("open", "closed")}, "state"),
		"response": of(flow.ScheduleStatus{}),
	}
	b["DELETE /api/v1/hours/{name}/override"] = map[string]any{"response": of(flow.ScheduleStatus{})}
	b["GET /api/v1/trunks"] = map[string]any{"response": of([]TrunkStatus{})}
	b["GET /api/v1/cluster"] = map[string]any{"response": of(cluster.Status{})}
	b["GET /api/v1/webhooks/deliveries"] = map[string]any{"response": of([]webhook.Delivery{})}
	b["GET /api/v1/voicemails"] = map[string]any{"response": of([]store.Voicemail{})}

	// Reports and quality review.
	b["GET /api/v1/reports/queues"] = map[string]any{"response": desc(of(report.QueueReport{}), "as JSON; format=csv answers CSV instead")}
	b["GET /api/v1/reports/agents"] = map[string]any{"response": reportOf("rows", of([]report.AgentRow{}))}
	b["GET /api/v1/reports/wait-estimates"] = map[string]any{"response": reportOf("queues", of([]report.EstimateQueue{}))}
	b["GET /api/v1/reports/ivr"] = map[string]any{"response": reportOf("flows", of([]report.IVRFlow{}))}
	b["GET /api/v1/qa/scorecards"] = map[string]any{"response": of([]config.Scorecard{})}
	b["GET /api/v1/qa/scores"] = map[string]any{"response": of([]store.QAScore{})}
	b["GET /api/v1/qa/review"] = map[string]any{"response": of([]qa.Pick{})}

	// Security and the audit log.
	b["GET /api/v1/security/bans"] = map[string]any{"response": of([]security.Ban{})}
	b["DELETE /api/v1/security/bans/{source}"] = map[string]any{"response": obj(map[string]any{"lifted": desc(str(), "the source whose ban was lifted")})}
	b["GET /api/v1/security/events"] = map[string]any{"response": of(security.Report{})}
	b["GET /api/v1/audit"] = map[string]any{"response": of([]store.AuditEntry{})}

	// The browser softphone.
	b["POST /api/v1/webrtc/offer"] = map[string]any{
		"request":  request(map[string]any{"sdp": desc(str(), "the browser's SDP offer")}, "sdp"),
		"response": obj(map[string]any{"sdp": desc(str(), "the SDP answer")}),
	}
	b["POST /api/v1/webrtc/answer"] = map[string]any{"response": obj(map[string]any{"answered": with(boolean(), "const", true)})}
	b["POST /api/v1/webrtc/reject"] = map[string]any{"response": obj(map[string]any{"answered": with(boolean(), "const", false)})}
	b["DELETE /api/v1/webrtc"] = map[string]any{"response": status("disconnected")}

	// Web logins.
	b["POST /api/v1/session"] = map[string]any{
		"request": request(map[string]any{
			"username": str(),
			"password": with(str(), "format", "password"),
		}, "username", "password"),
		"response": obj(map[string]any{
			"username": str(),
			"role":     enum(config.RoleAdmin, config.RoleSupervisor, config.RoleAgent),
		}),
	}
	b["DELETE /api/v1/session"] = map[string]any{"response": status("logged out")}

	// The setup as a whole, its versions and roles (ServeSetups).
	b["POST /api/v1/config/reload"] = map[string]any{"response": obj(map[string]any{
		"applied": boolean(),
		"file":    desc(str(), `the setup file ("" for the built-in demo)`),
		"changes": changes,
	})}
	applied := obj(map[string]any{
		"applied":   boolean(),
		"persisted": desc(boolean(), "false when there is no setup file to write (the demo)"),
		"file":      desc(str(), `the setup file ("" for the built-in demo)`),
		"changes":   changes,
		"version":   desc(integer(), "the version this node now runs"),
	})
	b["POST /api/v1/config/apply"] = map[string]any{"request": setupYAML(), "response": applied}
	b["POST /api/v1/config/versions/{n}/restore"] = map[string]any{"response": applied}
	b["POST /api/v1/config/validate"] = map[string]any{
		"request":  setupYAML(),
		"response": obj(map[string]any{"valid": boolean()}),
	}
	b["POST /api/v1/config/changes"] = map[string]any{
		"request": obj(map[string]any{"changes": desc(of([]setupChange{}), "made in order on the latest version, published together")}),
		"response": obj(map[string]any{
			"version": desc(integer(), "the version published (with ?dry_run=true: the version checked against)"),
			"changes": desc(integer(), "how many changes it made"),
			"valid":   desc(boolean(), "with ?dry_run=true: the changes would be accepted"),
		}),
	}
	b["PUT /api/v1/config"] = map[string]any{
		"request": setupYAML(),
		"response": obj(map[string]any{
			"version":   desc(integer(), "the version published (also the ETag)"),
			"applied":   boolean(),
			"persisted": desc(boolean(), "false when there is no setup file to write (the demo)"),
			"changes":   changes,
		}),
	}
	b["GET /api/v1/config"] = map[string]any{"response": desc(obj(map[string]any{
		"version": integer(),
		"at":      dateTime(),
		"by":      str(),
		"origin":  desc(str(), "how it was made: start, reload, apply, restore of N"),
		"yaml":    str(),
	}), "the JSON form; with Accept: application/yaml the answer is the YAML itself")}
	b["GET /api/v1/config/versions"] = map[string]any{"response": obj(map[string]any{
		"running":  desc(integer(), "the version this node runs (0: none saved)"),
		"versions": desc(of([]store.ConfigVersion{}), "newest first, without their YAML or diff"),
	})}
	b["GET /api/v1/config/versions/{n}"] = map[string]any{"response": of(store.ConfigVersion{})}
	roles := obj(map[string]any{"roles": arr(obj(map[string]any{
		"role":  enum(config.RoleAdmin, config.RoleSupervisor, config.RoleAgent),
		"edits": desc(arr(str()), "what the role may edit: collections, hours_overrides, dispositions, scripts, prompts"),
		"reads": desc(arr(str()), "the collections the role may read"),
	})), "supervisor_editable": desc(arr(str()), "what console.supervisors_edit may name")})
	b["GET /api/v1/config/roles"] = map[string]any{"response": roles}
	b["PUT /api/v1/config/roles"] = map[string]any{
		"request":  request(map[string]any{"supervisors_edit": desc(arr(str()), "what supervisors may edit besides hours overrides (supervisor_editable)")}, "supervisors_edit"),
		"response": roles,
	}

	// Prompts (ServePrompts).
	b["GET /api/v1/config/prompts"] = map[string]any{"response": obj(map[string]any{"prompts": of([]PromptInfo{})})}
	b["PUT /api/v1/config/prompts/{name}"] = map[string]any{
		"request": desc(with(str(), "format", "binary"),
			"the audio file itself, not JSON: WAV (PCM, float, µ-law, A-law) or MP3, at most 32 MiB"),
		"response": of(store.Prompt{}),
	}

	// Outbound campaigns (ServeCampaigns).
	campaign := schemaOf(reflect.TypeOf(config.Campaign{}), "yaml", defs)
	b["POST /api/v1/campaigns"] = map[string]any{"request": campaign, "response": campaign}
	b["GET /api/v1/campaigns"] = map[string]any{"response": obj(map[string]any{"campaigns": of([]CampaignStatus{})})}
	for _, p := range []string{"", "/start", "/pause", "/stop"} {
		k := "GET"
		if p != "" {
			k = "POST"
		}
		b[k+" /api/v1/campaigns/{name}"+p] = map[string]any{"response": of(CampaignStatus{})}
	}
	b["POST /api/v1/campaigns/{name}/contacts"] = map[string]any{
		"request":  desc(str(), "the contact list as CSV (Content-Type: text/csv), not JSON: a header row naming at least number"),
		"response": of(ContactImport{}),
	}
	b["GET /api/v1/campaigns/{name}/contacts"] = map[string]any{"response": obj(map[string]any{"contacts": of([]store.CampaignContact{})})}
	b["GET /api/v1/dnc/lists"] = map[string]any{"response": obj(map[string]any{"lists": of([]store.DNCList{})})}
	b["POST /api/v1/dnc/lists/{list}"] = map[string]any{
		"request":  desc(str(), "the list as text/plain (a number or prefix* per line) or text/csv (numbers in the first column), not JSON"),
		"response": of(DNCImport{}),
	}
	b["DELETE /api/v1/dnc/lists/{list}"] = map[string]any{"response": obj(map[string]any{"removed": integer()})}
	b["GET /api/v1/campaigns/mine"] = map[string]any{"response": obj(map[string]any{"campaigns": of([]AgentCampaign{})})}
	b["GET /api/v1/campaigns/{name}/preview"] = map[string]any{"response": obj(map[string]any{"contact": of(store.CampaignContact{}), "reason": str(),
		"script": desc(str(), "the campaign's queue's script, filled with the contact's fields")})}
	b["POST /api/v1/campaigns/{name}/preview/dial"] = map[string]any{"response": desc(obj(map[string]any{"call_id": str()}), "answered with 202 Accepted: the call carries it out")}
	b["POST /api/v1/campaigns/{name}/preview/skip"] = map[string]any{
		"request":  request(map[string]any{"reason": desc(str(), "why the contact is passed by")}, "reason"),
		"response": obj(map[string]any{"skipped": with(map[string]any{"type": "boolean"}, "const", true)}),
	}
	b["GET /api/v1/reports/campaigns"] = map[string]any{"response": obj(map[string]any{
		"from": dateTime(), "to": dateTime(), "intervals": of([]CampaignRow{}), "campaigns": of([]CampaignRow{}),
		"definitions": desc(mapOf(str()), "each figure's definition, in words"),
	})}
	b["GET /api/v1/reports/compliance"] = map[string]any{"response": obj(map[string]any{
		"from": dateTime(), "to": dateTime(), "campaigns": arr(obj(map[string]any{
			"campaign": str(), "target": map[string]any{"type": "number"}, "live": map[string]any{"type": "integer"},
			"dropped": map[string]any{"type": "integer"}, "abandon_rate": map[string]any{"type": "number"},
			"within_target": map[string]any{"type": "boolean"}, "days": of([]ComplianceDay{}), "drops": of([]store.Drop{}),
		})),
	})}
	b["POST /api/v1/campaigns/{name}/contacts/{number}/callback"] = map[string]any{
		"request":  request(map[string]any{"at": dateTime(), "agent": desc(str(), "the agent to ring first; empty for any")}, "at"),
		"response": obj(map[string]any{"scheduled": dateTime(), "agent": str()}),
	}
	b["GET /api/v1/dnc"] = map[string]any{"response": obj(map[string]any{"numbers": of([]store.DNCEntry{})})}
	b["POST /api/v1/dnc"] = map[string]any{
		"request":  request(map[string]any{"number": desc(str(), "a number, or a prefix ending in *")}, "number"),
		"response": of(store.DNCEntry{}),
	}

	// The "call us" page's web calls (ServeWebCalls), without a login.
	b["POST /api/v1/webcall"] = map[string]any{
		"request": request(map[string]any{"sdp": desc(str(), "the browser's SDP offer")}, "sdp"),
		"response": obj(map[string]any{
			"id":  desc(str(), "the web call's id, for its other routes"),
			"sdp": desc(str(), "the SDP answer"),
		}),
	}
	b["GET /api/v1/webcall/{id}"] = map[string]any{"response": obj(map[string]any{
		"state":  enum("calling", "connected", "ended"),
		"reason": str(),
	})}
	b["POST /api/v1/webcall/{id}/dtmf"] = map[string]any{
		"request": request(map[string]any{
			"digits": desc(with(with(str(), "minLength", 1), "maxLength", 32), "0-9, *, # and A-D"),
		}, "digits"),
		"response": obj(map[string]any{"sent": str()}),
	}
	return b
}

// schemaAs is schemaOf(t, "json") put among defs as name rather than as
// its own name (for a type whose name is not the API's to show).
func schemaAs(t reflect.Type, name string, defs map[string]any) map[string]any {
	ref := map[string]any{"$ref": "#/components/schemas/" + name}
	if _, ok := defs[name]; ok {
		return ref
	}
	own := defName(t, "json")
	_, had := defs[own]
	s := schemaOf(t, "json", defs)
	if d, ok := defs[own]; ok && !had {
		delete(defs, own)
		s = d.(map[string]any)
	}
	defs[name] = s
	return ref
}

// obj is the schema of an object with the properties props.
func obj(props map[string]any) map[string]any {
	return map[string]any{"type": "object", "properties": props}
}

// mapOf is the schema of an object whose keys are any and whose values
// are values.
func mapOf(values map[string]any) map[string]any {
	return map[string]any{"type": "object", "additionalProperties": values}
}

// request is the schema of a JSON request body with props and no other
// field (decodeBody refuses unknown ones), the required ones named.
func request(props map[string]any, required ...string) map[string]any {
	s := obj(props)
	s["additionalProperties"] = false
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func str() map[string]any      { return map[string]any{"type": "string"} }
func integer() map[string]any  { return map[string]any{"type": "integer"} }
func boolean() map[string]any  { return map[string]any{"type": "boolean"} }
func dateTime() map[string]any { return map[string]any{"type": "string", "format": "date-time"} }

func arr(items map[string]any) map[string]any {
	return map[string]any{"type": "array", "items": items}
}

// enum is a string schema of the given values.
func enum(values ...string) map[string]any {
	return map[string]any{"type": "string", "enum": values}
}

// desc sets s's description and returns s.
func desc(s map[string]any, d string) map[string]any { return with(s, "description", d) }

// with sets s's key to v and returns s.
func with(s map[string]any, key string, v any) map[string]any {
	s[key] = v
	return s
}
