package sip

// SRTPConfig is which legs encrypt their media with SRTP (SDES keys).
type SRTPConfig struct{}
