// Package event is the vocabulary of the record: the kinds of events a
// call or an agent leaves in the store, the outcomes of a call record and
// who hung up. Every package that writes or reads events names them with
// these constants; a string literal for one is a bug. It knows no protocol
// and no storage, so the ACD and the config can use it too.
package event

import "slices"

// Kind names one kind of change.
type Kind string

// Event kinds of a call's life.
const (
	Arrived           Kind = "arrived"
	Rejected          Kind = "rejected"
	Ended             Kind = "ended"
	IVRAnswered       Kind = "ivr_answered"
	IVRDigits         Kind = "ivr_digits"
	IVRStep           Kind = "ivr_step" // one step of the flow visited (detail: report.IVRStepDetail as JSON)
	FeatureLogin      Kind = "feature_login_toggle"
	WaitEstimate      Kind = "wait_estimate"
	Announcement      Kind = "announcement"
	QueueOption       Kind = "queue_option"
	Overflow          Kind = "overflow"
	PriorityChanged   Kind = "priority_changed"
	Moved             Kind = "moved"
	Connected         Kind = "connected"
	NoAnswer          Kind = "no_answer"
	HangupRequested   Kind = "hangup_requested"
	Hold              Kind = "hold"
	Unhold            Kind = "unhold"
	HoldReminder      Kind = "hold_reminder"
	HoldMaxReached    Kind = "hold_max_reached"
	DTMFSent          Kind = "dtmf_sent"
	Transfer          Kind = "transfer"
	TransferFailed    Kind = "transfer_failed"
	TransferredOut    Kind = "transferred_out"
	ConsultStarted    Kind = "consult_started"
	ConsultConnected  Kind = "consult_connected"
	ConsultFailed     Kind = "consult_failed"
	ConsultEnded      Kind = "consult_ended"
	ConsultCancelled  Kind = "consult_cancelled"
	ConferenceRinging Kind = "conference_ringing"
	ConferenceJoined  Kind = "conference_joined"
	ConferenceLeft    Kind = "conference_left"
	ConferenceFailed  Kind = "conference_failed"
	ConferenceHold    Kind = "conference_hold"
	ConferenceUnhold  Kind = "conference_unhold"
	CallbackRequested Kind = "callback_requested"
	CallbackDeclined  Kind = "callback_declined"
	CallbackAttempt   Kind = "callback_attempt"
	CallbackRetry     Kind = "callback_retry"
	CallbackRestored  Kind = "callback_restored" // a pending callback queued again after a restart
	ClickToCall       Kind = "click_to_call"
	CampaignDial      Kind = "campaign_dial"   // a campaign dials a contact (detail: campaign, number, attempt)
	CampaignAMD       Kind = "amd"             // answering-machine detection decided (detail: decision, after, reason)
	CampaignDrop      Kind = "campaign_drop"   // a person answered and no agent took them in time: they heard the identification
	CampaignMessage   Kind = "machine_message" // a campaign's message played to a machine after its beep
	AgentAnswered     Kind = "agent_answered"
	VoicemailGreeting Kind = "voicemail_greeting"
	VoicemailLeft     Kind = "voicemail_left"
	VoicemailEmpty    Kind = "voicemail_empty"
	RecordingStarted  Kind = "recording_started"
	RecordingPaused   Kind = "recording_paused"
	RecordingResumed  Kind = "recording_resumed"
	RecordingSaved    Kind = "recording_saved"
	PhraseSpotted     Kind = "phrase_spotted"
	Transcribed       Kind = "transcribed"
	RecordingFetched  Kind = "recording_downloaded"
	MonitorStarted    Kind = "monitor_started"
	MonitorMode       Kind = "monitor_mode"
	MonitorEnded      Kind = "monitor_ended"
	DispositionSaved  Kind = "disposition_saved"
	QAScored          Kind = "qa_scored"
)

// Event kinds the ACD emits.
const (
	Queued         Kind = "queued"
	Offered        Kind = "offered"
	OfferDeclined  Kind = "offer_declined"
	OfferTimeout   Kind = "offer_timeout"
	OfferCancelled Kind = "offer_cancelled"
	Answered       Kind = "answered"
	Abandoned      Kind = "abandoned"
	AgentCallEnded Kind = "agent_call_ended"
	AgentState     Kind = "agent_state"
	// AgentPending: an agent asked for a state (away, logged out) during a
	// call; it applies when the call and its wrap-up end.
	AgentPending    Kind = "agent_state_pending"
	WrapUpExtended  Kind = "wrap_up_extended"
	Escalated       Kind = "escalated"
	QueueLeft       Kind = "left_queue"
	DeviceReachable Kind = "device_state"
)

// Kinds lists every kind, for validating configured lists (webhooks).
var kinds = []Kind{
	Arrived, Rejected, Ended, IVRAnswered, IVRDigits, FeatureLogin, WaitEstimate, Announcement, QueueOption, Overflow,
	PriorityChanged, Moved, Connected, NoAnswer, HangupRequested, Hold, Unhold, HoldReminder, HoldMaxReached, DTMFSent,
	Transfer, TransferFailed, TransferredOut, ConsultStarted, ConsultConnected, ConsultFailed, ConsultEnded,
	ConsultCancelled, ConferenceRinging, ConferenceJoined, ConferenceLeft, ConferenceFailed, ConferenceHold, ConferenceUnhold,
	CallbackRequested, CallbackDeclined, CallbackAttempt, CallbackRetry, CallbackRestored, ClickToCall, AgentAnswered,
	VoicemailGreeting, VoicemailLeft, VoicemailEmpty, RecordingStarted, RecordingPaused, RecordingResumed,
	CampaignDial, CampaignAMD, CampaignDrop, CampaignMessage,
	RecordingSaved, PhraseSpotted, Transcribed, RecordingFetched, MonitorStarted, MonitorMode, MonitorEnded, DispositionSaved, QAScored,
	Queued, Offered, OfferDeclined, OfferTimeout, OfferCancelled, Answered, Abandoned, AgentCallEnded, AgentState,
	AgentPending, WrapUpExtended, Escalated, QueueLeft, DeviceReachable,
}

// Kinds returns every event kind.
func Kinds() []Kind { return slices.Clone(kinds) }

// Known reports whether k is an event kind.
func Known(k Kind) bool { return slices.Contains(kinds, k) }

// Outcome is how a call ended, as its record says.
type Outcome string

// Outcomes of a call record.
const (
	OutcomeInProgress     Outcome = "in_progress"
	OutcomeAnswered       Outcome = "answered"
	OutcomeAbandoned      Outcome = "abandoned"
	OutcomeRejected       Outcome = "rejected"
	OutcomeFailed         Outcome = "failed"
	OutcomeCompleted      Outcome = "completed"       // handled without an agent (feature code, closed message)
	OutcomeVoicemail      Outcome = "voicemail"       // the caller left a message
	OutcomeOverflow       Outcome = "overflow"        // told goodbye by a limit (queue full, no agents)
	OutcomeCallbackFailed Outcome = "callback_failed" // every callback attempt went unanswered
	// Outcomes of campaign calls that no agent took.
	OutcomeBusy     Outcome = "busy"
	OutcomeNoAnswer Outcome = "no_answer"
	OutcomeMachine  Outcome = "machine"
	OutcomeDropped  Outcome = "dropped" // a person answered; no agent within 2 s: the identification message
	// OutcomeCallbackPending: the caller hung up and waits to be called
	// back; not in progress (nobody is on the line), not ended either: a
	// restart resumes it.
	OutcomeCallbackPending Outcome = "callback_pending"
)

// HangupBy says who ended a call.
type HangupBy string

// Who ends calls.
const (
	ByCaller HangupBy = "caller"
	ByAgent  HangupBy = "agent"
	BySystem HangupBy = "system"
)

// How a call left a queue (a queue segment's end).
type SegmentEnd string

// Ends of a queue segment.
const (
	SegmentAnswered    SegmentEnd = "answered"
	SegmentAbandoned   SegmentEnd = "abandoned"
	SegmentOverflowed  SegmentEnd = "overflowed"
	SegmentMoved       SegmentEnd = "moved"
	SegmentTransferred SegmentEnd = "transferred"
	SegmentWithdrawn   SegmentEnd = "withdrawn" // voicemail, hang-up by a limit, callback given up
)
