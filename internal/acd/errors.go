package acd

import "errors"

// Errors callers branch on (errors.Is).
var (
	// ErrUnknownQueue: no queue of that name.
	ErrUnknownQueue = errors.New("acd: unknown queue")
	// ErrUnknownAgent: no agent of that ID.
	ErrUnknownAgent = errors.New("acd: unknown agent")
	// ErrUnknownCall: the call is not queued (answered, abandoned or never seen).
	ErrUnknownCall = errors.New("acd: unknown call")
	// ErrStaleOffer: the offer was withdrawn (timeout, caller gone, agent left).
	ErrStaleOffer = errors.New("acd: offer no longer stands")
	// ErrAgentBusy: the agent cannot be reserved now.
	ErrAgentBusy = errors.New("acd: agent not available")
	// ErrLoggedOut: the request needs a logged-in agent.
	ErrLoggedOut = errors.New("acd: agent is logged out")
)
