package call

import (
	"errors"
	"fmt"
)

// Errors of call control. The API maps them to statuses in one place
// (internal/api callStatus).
var (
	// ErrUnknownCall: no live call has that ID.
	ErrUnknownCall = errors.New("call: no such live call")
	// ErrState: the command makes no sense in the call's current state;
	// a *StateError says which command and which state.
	ErrState = errors.New("call: not allowed in the call's state")
	// ErrNotConnected: the call is not connected to an agent.
	ErrNotConnected = errors.New("call: not connected to an agent")
	// ErrNotWaiting: the call is not waiting in a queue.
	ErrNotWaiting = errors.New("call: not waiting in a queue")
	// ErrUnknownTarget: no agent, queue or number by that name.
	ErrUnknownTarget = errors.New("call: no agent, queue or number to transfer to")
	// ErrTransferBusy: a transfer is already under way.
	ErrTransferBusy = errors.New("call: a transfer is already under way")
	// ErrNoConsultation: the consultation call named by a REFER's Replaces is not connected.
	ErrNoConsultation = errors.New("call: the consultation call is not connected")
	// ErrConsulting: a consultation is already under way.
	ErrConsulting = errors.New("call: a consultation is already under way")
	// ErrNoConsulting: no consultation is under way (or it still rings).
	ErrNoConsulting = errors.New("call: no consultation under way")
	// ErrNoRecording: the call is not being recorded.
	ErrNoRecording = errors.New("call: not being recorded")
	// ErrNotRecorded: the call's queue does not record on demand.
	ErrNotRecorded = errors.New("call: its queue does not record on demand")
	// ErrRecordingFailed: the recording could not be started (its file).
	ErrRecordingFailed = errors.New("call: the recording could not be started")
	// ErrBadRecAction: a recording action other than start, pause, resume.
	ErrBadRecAction = errors.New("call: recording action is start, pause or resume")
	// ErrBadMode: a monitor mode other than listen, whisper, barge.
	ErrBadMode = errors.New("call: mode is listen, whisper or barge")
	// ErrUnknownAgent: no agent by that extension.
	ErrUnknownAgent = errors.New("call: no such agent")
	// ErrBadNumber: not a number that can be dialled.
	ErrBadNumber = errors.New("call: not a number that can be dialled")
	// ErrNoTrunk: no outbound trunk is configured.
	ErrNoTrunk = errors.New("call: no outbound trunk")
	// ErrConferenceFull: a conference has its maximum of parties.
	ErrConferenceFull = errors.New("call: the conference is full")
	// ErrConferenceBusy: the call's audio cannot be mixed now (a supervisor monitors it).
	ErrConferenceBusy = errors.New("call: cannot start a conference now")
	// ErrUnknownParty: no party of the conference by that ID.
	ErrUnknownParty = errors.New("call: no such party in the conference")
	// ErrBusy: the call did not take the command in time.
	ErrBusy = errors.New("call: busy, try again")
	// ErrShuttingDown: the node is stopping and takes no new calls.
	ErrShuttingDown = errors.New("call: the server is shutting down")
)

// StateError is a command refused in the call's current state, e.g.
// "hold: the call is in a consultation". It matches ErrState.
type StateError struct {
	Op    string
	State State
}

func (e *StateError) Error() string { return fmt.Sprintf("%s: the call is %s", e.Op, e.State.Phrase()) }

// Is makes errors.Is(err, ErrState) true.
func (e *StateError) Is(target error) bool { return target == ErrState }

// errHungUp ends a prompt or flow whose caller hung up.
var errHungUp = errors.New("caller hung up")

// errMoved interrupts a prompt: the call's state changed (an agent took it,
// a supervisor moved it).
var errMoved = errors.New("call state changed")

// errWaiterGone is dialWhile's answer when the party waiting for the
// dialled leg hung up first.
var errWaiterGone = errors.New("the waiting party hung up")
