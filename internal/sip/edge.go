package sip

// EdgeConfig limits what one source may cost the SIP edge.
type EdgeConfig struct{}
