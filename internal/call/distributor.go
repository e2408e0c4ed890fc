package call

import (
	"time"

	"github.com/switchboard/switchboard/internal/acd"
)

// Distributor is the ACD as the manager uses it: the node's own
// (*acd.ACD), or in a cluster the leader's, reached through the cluster
// (SetDistributor). Its decisions come back to the manager as an
// acd.Offerer (Offer, CancelOffer) and as events (ACDEvent).
type Distributor interface {
	// Calls in queues.
	Enqueue(callID, queueName string, priority int) error
	EnqueueRestored(callID, queueName string, priority int, queuedAt time.Time) error
	Abandon(callID, reason string) error
	Withdraw(callID, reason string) error
	Move(callID, queueName, reason string) error
	SetPriority(callID string, priority int) error
	SetCallback(callID string, on bool) error
	KeepRetired(c acd.QueueConfig, members []string)
	Position(callID string) int
	Wait(callID string) (acd.WaitInfo, error)
	Staffing(queueName string) (loggedIn, staffed, free int, err error)
	Length(queueName string) int

	// Offers and the calls agents are on.
	Answered(offerID uint64) error
	Declined(offerID uint64, reason string) error
	CallEnded(agentID string) error
	Reserve(agentID, callID string) error
	Release(agentID string) error
	SetHold(agentID string, on bool) error

	// Agents.
	SetReachable(agentID string, reachable bool) error
	Login(agentID string) error
	Logout(agentID string) error
	SetAvailable(agentID string) error
	Toggle(agentID string) (acd.AgentState, error)
	RequestAway(agentID, reason string) (pending bool, err error)
	RequestLogout(agentID string) (pending bool, err error)
	ExtendWrapUp(agentID string, d time.Duration) error
	Restore(agentID string, s acd.AgentState, reason string) error

	// Reconfigure applies a reload's queues and agents (in a cluster, on
	// the leader's ACD when this node leads).
	Reconfigure(queues []acd.QueueConfig, agents []acd.AgentConfig) (removed []string, err error)

	// Views.
	Agent(id string) (acd.AgentView, bool)
	Agents() []acd.AgentView
	Queue(name string) (acd.QueueView, bool)
	Queues() []acd.QueueView
}

var _ Distributor = (*acd.ACD)(nil)
